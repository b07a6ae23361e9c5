import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { WebhookFormat } from "@bg-ingest/domain"
import { WebhookConfig } from "@bg-ingest/http/server"
import { Effect, Layer, Redacted } from "effect"
import { SecureRandom } from "effect/crypto"
import { Base64Url } from "effect/encoding"
import type { AppConfig } from "./config/AppConfig.ts"

/** As for `WEBHOOK_SECRET`: a shorter (or empty) secret is a weak or empty HMAC key. */
const MIN_SECRET_CHARACTERS = 16

/**
 * The development webhook secret: generated once, kept in `DATA_DIR/webhook-secret` (readable by its owner only)
 * so that it survives restarts, and printed at start-up so a developer can sign test deliveries. A kept secret
 * shorter than 16 characters (an empty file, say) is replaced by a generated one.
 */
const developmentSecret = Effect.fnUntraced(function* (dataDir: string) {
  const file = join(dataDir, "webhook-secret")
  const kept = yield* Effect.sync(() => {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 })
    if (!existsSync(file)) return undefined
    chmodSync(file, 0o600)
    return readFileSync(file, "utf8").trim()
  })
  if (kept !== undefined && kept.length >= MIN_SECRET_CHARACTERS) return kept
  if (kept !== undefined) {
    yield* Effect.logWarning(
      `${file} held a secret shorter than ${MIN_SECRET_CHARACTERS} characters: replaced with a generated one`
    )
  }
  const secret = Base64Url.encode(yield* SecureRandom.SecureRandom.use((random) => random.randomBytes(24)))
  yield* Effect.sync(() => writeFileSync(file, `${secret}\n`, { mode: 0o600 }))
  return secret
})

/** The webhook's secrets and extra body formats. Only development ever generates (and prints) a secret. */
export const webhookConfigLayer = (config: AppConfig, formats: ReadonlyArray<WebhookFormat>) =>
  Layer.effect(
    WebhookConfig,
    Effect.gen(function* () {
      if (config.webhookSecrets.length > 0) return { secrets: config.webhookSecrets, formats }
      const secret = yield* developmentSecret(config.dataDir)
      yield* Effect.logWarning(
        `Development webhook secret (from ${join(config.dataDir, "webhook-secret")}): ${secret} — set WEBHOOK_SECRET outside development`
      )
      return { secrets: [Redacted.make(secret)], formats }
    })
  )
