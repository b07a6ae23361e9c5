import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type Config, Effect, Option, Redacted, Result, Schema } from "effect"
import { SecureRandom } from "effect/crypto"
import { Base64, Base64Url, Hex } from "effect/encoding"
import * as Environment from "../environment/index.ts"

export const TOKEN_KEY_BYTES = 32
/** Where development mode keeps the key it generated when `TOKEN_ENCRYPTION_KEY` is not set. */
export const DEVELOPMENT_KEY_FILE = "token-encryption.key"

export class TokenEncryptionKeyError extends Schema.TaggedError<TokenEncryptionKeyError>()("TokenEncryptionKeyError", {
  message: Schema.String
}) {}

/**
 * Reads a key written as 64 hex digits or as base64 / base64url of 32 bytes. The value itself never appears in
 * an error message.
 */
export const parseTokenEncryptionKey = (text: string): Result.Result<Uint8Array, string> => {
  const trimmed = text.trim()
  const candidates = /^[0-9a-fA-F]{64}$/.test(trimmed)
    ? [Hex.decode(trimmed)]
    : [Base64.decode(trimmed), Base64Url.decode(trimmed)]
  for (const candidate of candidates) {
    if (Result.isSuccess(candidate) && candidate.success.length === TOKEN_KEY_BYTES) {
      return Result.succeed(candidate.success)
    }
  }
  return Result.fail(
    `must be ${TOKEN_KEY_BYTES} bytes written as 64 hex digits or as base64 (generate one with: openssl rand -base64 32)`
  )
}

/**
 * `TOKEN_ENCRYPTION_KEY`, checked: the crypto adapter's part of the environment. `None` when unset (development
 * then generates one, see `loadTokenEncryptionKey`).
 */
export const tokenEncryptionKeyConfig: Config.Config<Option.Option<Redacted.Redacted<string>>> = Environment.optional(
  "TOKEN_ENCRYPTION_KEY",
  { decode: (text) => Result.map(parseTokenEncryptionKey(text), () => Redacted.make(text)) }
)

export interface LoadTokenEncryptionKeyOptions {
  readonly key: Option.Option<Redacted.Redacted<string>>
  readonly appEnv: "development" | "staging" | "production"
  readonly dataDir: string
}

const readOrCreateDevelopmentKey = (path: string, fresh: Uint8Array): { key: string; created: boolean } => {
  try {
    writeFileSync(path, `${Base64.encode(fresh)}\n`, { flag: "wx", mode: 0o600 })
    return { key: Base64.encode(fresh), created: true }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error
    // Another process (or an earlier run) made it first: every process must use the same key.
    chmodSync(path, 0o600)
    return { key: readFileSync(path, "utf8"), created: false }
  }
}

/**
 * The key that encrypts provider tokens at rest. `TOKEN_ENCRYPTION_KEY` when set (required in staging and
 * production). In development without it, a random key generated once and kept in `DATA_DIR`, with a warning:
 * tokens stored with it are readable by anyone who can read `DATA_DIR`.
 */
export const loadTokenEncryptionKey = Effect.fnUntraced(function* (options: LoadTokenEncryptionKeyOptions) {
  if (Option.isSome(options.key)) {
    const parsed = parseTokenEncryptionKey(Redacted.value(options.key.value))
    if (Result.isFailure(parsed)) {
      return yield* new TokenEncryptionKeyError({ message: `TOKEN_ENCRYPTION_KEY ${parsed.failure}` })
    }
    return Redacted.make(parsed.success)
  }
  if (options.appEnv !== "development") {
    return yield* new TokenEncryptionKeyError({
      message: `TOKEN_ENCRYPTION_KEY is required when APP_ENV is ${options.appEnv}`
    })
  }
  const path = join(options.dataDir, DEVELOPMENT_KEY_FILE)
  const fresh = yield* SecureRandom.SecureRandom.use((random) => random.randomBytes(TOKEN_KEY_BYTES))
  const stored = yield* Effect.try({
    try: () => {
      mkdirSync(options.dataDir, { recursive: true, mode: 0o700 })
      return readOrCreateDevelopmentKey(path, fresh)
    },
    catch: (cause) =>
      new TokenEncryptionKeyError({
        message: `Cannot keep a development token key in ${path}: ${cause instanceof Error ? cause.message : String(cause)}`
      })
  })
  const parsed = parseTokenEncryptionKey(stored.key)
  if (Result.isFailure(parsed)) {
    return yield* new TokenEncryptionKeyError({ message: `The development token key in ${path} ${parsed.failure}` })
  }
  yield* Effect.logWarning(
    stored.created
      ? "TOKEN_ENCRYPTION_KEY is not set: generated a development key to encrypt provider tokens"
      : "TOKEN_ENCRYPTION_KEY is not set: using the development key generated earlier to encrypt provider tokens"
  ).pipe(Effect.annotateLogs({ path, hint: "set TOKEN_ENCRYPTION_KEY (openssl rand -base64 32) outside development" }))
  return Redacted.make(parsed.success)
})
