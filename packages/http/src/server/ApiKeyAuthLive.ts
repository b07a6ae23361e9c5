import { Context, Effect, Exit, Layer, Metric, Redacted } from "effect"
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

/** Known keys remembered at once; more distinct valid keys than this (never, in practice) start it over. */
const REMEMBERED_KEYS = 1024

/**
 * The accepted keys as a check: a presented key is hashed and compared in constant time against every digest, and
 * a key found known is remembered, so that each valid key is hashed once rather than on every request (the hash,
 * and the Effect around it, were a measurable part of a `latest`, bench/http.ts). Only known keys are remembered:
 * an unknown key is hashed and compared every time, as before. A remembered key is found by a `Map` lookup, which
 * hashes the whole presented string before comparing anything, so its time does not tell how much of a key was
 * guessed.
 */
export class KnownKeys extends Context.Service<
  KnownKeys,
  {
    /** Whether keys are asked for at all (`API_KEYS` set). */
    readonly required: boolean
    readonly isKnown: (key: string) => Effect.Effect<boolean>
    /** The same check run synchronously (the digest is), for the server's edge; false if it could not run. */
    readonly isKnownSync: (key: string) => boolean
  }
>()("@bg-ingest/http/server/KnownKeys") {
  /** Needs `ApiKeys` and a `Digest`. */
  static readonly layer = Layer.effect(
    KnownKeys,
    Effect.gen(function* () {
      const { digests } = yield* ApiKeys
      const digest = yield* Digest.Digest
      const remembered = new Set<string>()
      const isKnown = (key: string): Effect.Effect<boolean> => {
        if (remembered.has(key)) return Effect.succeed(true)
        return Effect.map(digest.digest(Digest.sha256, encoder.encode(key)), (presented) => {
          let known = false
          for (const accepted of digests) known = Mac.timingSafeEqual(presented, accepted) || known
          if (known) {
            if (remembered.size >= REMEMBERED_KEYS) remembered.clear()
            remembered.add(key)
          }
          return known
        })
      }
      return KnownKeys.of({
        required: digests.length > 0,
        isKnown,
        isKnownSync: (key) => {
          if (remembered.has(key)) return true
          const exit = Effect.runSyncExit(isKnown(key))
          return Exit.isSuccess(exit) && exit.value
        }
      })
    })
  )
}

const refuse = (detail: string) =>
  Metric.update(apiKeyFailures, 1).pipe(Effect.andThen(Effect.fail(new Unauthorized({ detail }))))

/** Checks the bearer key (`KnownKeys`: in constant time, each valid key hashed once). Needs `ApiKeys`, a `Digest`. */
export const ApiKeyAuthLive = Layer.effect(
  ApiKeyAuth,
  Effect.gen(function* () {
    const keys = yield* KnownKeys
    return ApiKeyAuth.of({
      bearer: (httpEffect, { credential }) => {
        if (!keys.required) return httpEffect
        const key = Redacted.value(credential)
        if (key === "") return refuse("An API key is required: Authorization: Bearer <key>")
        return Effect.gen(function* () {
          if (!(yield* keys.isKnown(key))) return yield* refuse("The API key is not valid")
          return yield* httpEffect
        })
      }
    })
  })
).pipe(Layer.provide(KnownKeys.layer))
