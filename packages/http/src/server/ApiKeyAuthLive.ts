import { createHash, timingSafeEqual } from "node:crypto"
import { Context, Effect, Layer, Metric, Redacted } from "effect"
import { ApiKeyAuth, Unauthorized } from "../api/ApiKeyAuth.ts"

/**
 * The accepted API keys, as SHA-256 digests: a key may be configured as `sha256:<hex>` so that the plain key is
 * never in the configuration. No keys: every request is let through (development).
 */
export class ApiKeys extends Context.Service<ApiKeys, { readonly digests: ReadonlyArray<Uint8Array> }>()(
  "@bg-ingest/http/server/ApiKeys"
) {
  /** Parses `API_KEYS` entries: a plain key, or `sha256:` and 64 hex digits. */
  static readonly fromConfigured = (keys: ReadonlyArray<Redacted.Redacted<string>>): ApiKeys["Service"] => ({
    digests: keys.map((key) => {
      const value = Redacted.value(key)
      const hashed = /^sha256:([0-9a-f]{64})$/i.exec(value)
      return hashed ? Buffer.from(hashed[1]!, "hex") : createHash("sha256").update(value).digest()
    })
  })
}

export const apiKeyFailures = Metric.counter("bg_ingest_api_key_failures_total", {
  description: "Requests refused for a missing or unknown API key"
})

/**
 * Whether an `Authorization` header carries one of the accepted keys (`Bearer <key>`), compared in constant time
 * against every digest. For routes outside the API groups (metrics, docs) and for the OAuth callback's
 * integrator mode; the groups use `ApiKeyAuthLive`.
 */
export const presentsKnownKey = (digests: ReadonlyArray<Uint8Array>, authorization: string | undefined): boolean => {
  const match = authorization === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)
  if (match === null) return false
  const presented = createHash("sha256").update(match[1]!).digest()
  let known = false
  for (const digest of digests) known = timingSafeEqual(presented, digest) || known
  return known
}

const refuse = (detail: string) =>
  Metric.update(apiKeyFailures, 1).pipe(Effect.andThen(Effect.fail(new Unauthorized({ detail }))))

/** Checks the bearer key in constant time against every accepted digest. Needs `ApiKeys`. */
export const ApiKeyAuthLive = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function* () {
    const { digests } = yield* ApiKeys
    return ApiKeyAuth.of({
      bearer: (httpEffect, { credential }) => {
        if (digests.length === 0) return httpEffect
        const key = Redacted.value(credential)
        if (key === "") return refuse("An API key is required: Authorization: Bearer <key>")
        const presented = createHash("sha256").update(key).digest()
        let known = false
        for (const digest of digests) known = timingSafeEqual(presented, digest) || known
        return known ? httpEffect : refuse("The API key is not valid")
      }
    })
  })
)
