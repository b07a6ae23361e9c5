import { Context, Effect, Layer, Metric, Redacted } from "effect"
import { Digest, Mac } from "effect/crypto"
import { ApiKeyAuth, Unauthorized } from "../api/ApiKeyAuth.ts"

const encoder = new TextEncoder()

/**
 * The accepted API keys, as SHA-256 digests: a key may be configured as `sha256:<hex>` so that the plain key is
 * never in the configuration. No keys: every request is let through (development).
 */
export class ApiKeys extends Context.Service<ApiKeys, { readonly digests: ReadonlyArray<Uint8Array> }>()(
  "@bg-ingest/http/server/ApiKeys"
) {
  /** Parses `API_KEYS` entries: a plain key (kept as its digest), or `sha256:` and 64 hex digits. */
  static readonly make = Effect.fnUntraced(function* (keys: ReadonlyArray<Redacted.Redacted<string>>) {
    const digest = yield* Digest.Digest
    const digests = yield* Effect.forEach(keys, (key) => {
      const value = Redacted.value(key)
      const hashed = /^sha256:([0-9a-f]{64})$/i.exec(value)
      return hashed
        ? Effect.succeed(Uint8Array.from(Buffer.from(hashed[1]!, "hex")))
        : digest.digest(Digest.sha256, encoder.encode(value))
    })
    return ApiKeys.of({ digests })
  })

  /** The configured keys, hashed with `effect/crypto`'s `Digest`. */
  static readonly layer = (
    keys: ReadonlyArray<Redacted.Redacted<string>>
  ): Layer.Layer<ApiKeys, never, Digest.Digest> => Layer.effect(ApiKeys, ApiKeys.make(keys))
}

export const apiKeyFailures = Metric.counter("bg_ingest_api_key_failures_total", {
  description: "Requests refused for a missing or unknown API key"
})

/** The key of an `Authorization: Bearer <key>` header (the scheme in any case, spaces around), if it has one. */
export const bearerKey = (authorization: string | undefined): string | undefined =>
  authorization === undefined ? undefined : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization)?.[1]

/**
 * Whether an `Authorization` header carries one of the accepted keys (`Bearer <key>`), compared in constant time
 * against every digest. For routes outside the API groups (metrics, docs) and for the OAuth callback's
 * integrator mode; the groups use `ApiKeyAuthLive`.
 */
export const presentsKnownKey = Effect.fnUntraced(function* (
  digests: ReadonlyArray<Uint8Array>,
  authorization: string | undefined
): Effect.fn.Return<boolean, never, Digest.Digest> {
  const key = bearerKey(authorization)
  if (key === undefined) return false
  const presented = yield* (yield* Digest.Digest).digest(Digest.sha256, encoder.encode(key))
  let known = false
  for (const accepted of digests) known = Mac.timingSafeEqual(presented, accepted) || known
  return known
})

const refuse = (detail: string) =>
  Metric.update(apiKeyFailures, 1).pipe(Effect.andThen(Effect.fail(new Unauthorized({ detail }))))

/** Checks the bearer key in constant time against every accepted digest. Needs `ApiKeys` and a `Digest`. */
export const ApiKeyAuthLive = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function* () {
    const { digests } = yield* ApiKeys
    const digest = yield* Digest.Digest
    return ApiKeyAuth.of({
      bearer: (httpEffect, { credential }) => {
        if (digests.length === 0) return httpEffect
        const key = Redacted.value(credential)
        if (key === "") return refuse("An API key is required: Authorization: Bearer <key>")
        return Effect.gen(function* () {
          const presented = yield* digest.digest(Digest.sha256, encoder.encode(key))
          let known = false
          for (const accepted of digests) known = Mac.timingSafeEqual(presented, accepted) || known
          if (!known) return yield* refuse("The API key is not valid")
          return yield* httpEffect
        })
      }
    })
  })
)
