import { Effect, Redacted } from "effect"
import { Mac } from "effect/crypto"
import { Hex } from "effect/encoding"

export type SignatureCheck = { readonly valid: true } | { readonly valid: false; readonly reason: string }

const SIGNATURE = /^sha256=([0-9a-f]{64})$/i
const TIMESTAMP = /^\d{1,12}$/

const encoder = new TextEncoder()

/** HMAC-SHA256 under `secret` over `<timestamp>.<path>.<raw body>`, with `effect/crypto`'s `Mac`. */
const hmac = Effect.fnUntraced(function* (secret: string, timestamp: string, path: string, body: Uint8Array) {
  const mac = yield* Mac.Mac
  const key = yield* Effect.orDie(Mac.key(Mac.hmacSha256, encoder.encode(secret)))
  const prefix = encoder.encode(`${timestamp}.${path}.`)
  const signed = new Uint8Array(prefix.length + body.length)
  signed.set(prefix)
  signed.set(body, prefix.length)
  return yield* Effect.orDie(mac.sign(key, signed))
})

/**
 * The signature a sender computes: `sha256=` and the hex HMAC-SHA256 over `<timestamp>.<path>.<raw body>`, where
 * `path` is the request path as sent, without the query (`/api/bg/alice/webhook`): a delivery signed for one
 * user is worthless for another.
 */
export const signWebhook = (
  secret: string,
  timestamp: string,
  path: string,
  body: Uint8Array
): Effect.Effect<string, never, Mac.Mac> =>
  Effect.map(hmac(secret, timestamp, path, body), (tag) => `sha256=${Hex.encode(tag)}`)

/** Checks the timestamp header alone: present, unix seconds, within `toleranceSeconds` of now. */
export const checkTimestamp = (
  timestamp: string | undefined,
  nowSeconds: number,
  toleranceSeconds: number
): SignatureCheck => {
  if (timestamp === undefined) return { valid: false, reason: "X-Webhook-Timestamp is missing" }
  if (!TIMESTAMP.test(timestamp)) return { valid: false, reason: "X-Webhook-Timestamp must be unix seconds" }
  const skew = nowSeconds - Number(timestamp)
  if (skew > toleranceSeconds) return { valid: false, reason: "X-Webhook-Timestamp is too old (a replay?)" }
  if (skew < -toleranceSeconds) return { valid: false, reason: "X-Webhook-Timestamp is in the future" }
  return { valid: true }
}

/** Checks the signature header's shape alone, so that a delivery that cannot be signed is refused unread. */
export const checkSignatureHeader = (signature: string | undefined): SignatureCheck => {
  if (signature === undefined) return { valid: false, reason: "X-Webhook-Signature is missing" }
  if (!SIGNATURE.test(signature.trim())) {
    return { valid: false, reason: "X-Webhook-Signature must be sha256=<64 hex digits>" }
  }
  return { valid: true }
}

/**
 * Verifies `X-Webhook-Signature` over `<timestamp>.<path>.<raw body>` against every configured secret (several
 * during a rotation), comparing in constant time. The reason never echoes the signature or a secret.
 */
export const verifySignature = Effect.fnUntraced(function* (
  secrets: ReadonlyArray<Redacted.Redacted<string>>,
  timestamp: string,
  path: string,
  signature: string | undefined,
  body: Uint8Array
): Effect.fn.Return<SignatureCheck, never, Mac.Mac> {
  if (signature === undefined) return { valid: false, reason: "X-Webhook-Signature is missing" }
  const match = SIGNATURE.exec(signature.trim())
  if (match === null) return { valid: false, reason: "X-Webhook-Signature must be sha256=<64 hex digits>" }
  const given = Uint8Array.from(Buffer.from(match[1]!, "hex"))
  let valid = false
  for (const secret of secrets) {
    const expected = yield* hmac(Redacted.value(secret), timestamp, path, body)
    // No early exit: every secret is tried, whatever matched.
    valid = Mac.timingSafeEqual(expected, given) || valid
  }
  return valid
    ? { valid: true }
    : { valid: false, reason: "X-Webhook-Signature does not match the timestamp, path and body" }
})
