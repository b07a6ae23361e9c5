import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import type { WebhookFormat } from "@bg-ingest/domain"
import { WebhookConfig } from "@bg-ingest/http/server"
import { Effect, Layer, Redacted } from "effect"
import type { AppConfig } from "./config/AppConfig.ts"

/**
 * The development webhook secret: generated once, kept in `DATA_DIR/webhook-secret` (readable by its owner only)
 * so that it survives restarts, and printed at start-up so a developer can sign test deliveries.
 */
const developmentSecret = (dataDir: string) =>
  Effect.sync(() => {
    const file = join(dataDir, "webhook-secret")
    if (existsSync(file)) return readFileSync(file, "utf8").trim()
    mkdirSync(dataDir, { recursive: true })
    const secret = randomBytes(24).toString("base64url")
    writeFileSync(file, `${secret}\n`, { mode: 0o600 })
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
