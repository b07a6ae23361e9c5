import { Context, DateTime, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Digest, SecureRandom } from "effect/crypto"
import type { UserId } from "../model/Identifiers.ts"
import {
  type NightscoutRole,
  NightscoutSiteStore,
  type NightscoutSiteStoreError
} from "../ports/NightscoutSiteStore.ts"

/**
 * A credential as a Nightscout client presents it. Clients never send the API secret itself: they send its SHA-1
 * in hex (`api-secret` header, `?secret=`), and the same form of a read token is accepted. A read token may also be
 * sent as it is (`?token=`, or plain in `api-secret`); presented that way it only ever grants reading, so that a
 * secret pasted into a URL opens nothing.
 */
export type PresentedCredential =
  | { readonly form: "sha1"; readonly value: string }
  | { readonly form: "token"; readonly value: string }

/** Who a request acts as on a Nightscout site, and what it may do there. */
export interface NightscoutAccess {
  readonly userId: UserId
  readonly role: NightscoutRole
}

/**
 * No credential, or none that opens the site: `missing` when nothing was presented, `invalid` when what was
 * presented is not a current credential of the site (wrong, rotated, closed, or another user's).
 */
export class NightscoutAccessDenied extends Schema.TaggedError<NightscoutAccessDenied>()("NightscoutAccessDenied", {
  reason: Schema.Literals(["missing", "invalid"]),
  message: Schema.String
}) {}

export interface NightscoutSiteOpened {
  /** False when the site existed: its credentials were replaced. */
  readonly created: boolean
  /** For uploaders (read and write). Shown once; only a digest of its SHA-1 is kept. */
  readonly apiSecret: Redacted.Redacted<string>
  /** For followers (read only). Shown once; only a digest of its SHA-1 is kept. */
  readonly readToken: Redacted.Redacted<string>
}

const encoder = new TextEncoder()
const SHA1_HEX = /^[0-9a-f]{40}$/i
const ALPHANUMERIC = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
const SECRET_LENGTH = 32
const TOKEN_NAME = "follower"
const TOKEN_BYTES = 16
/** Longer presentations cannot be a credential this service issued; they are refused before any hashing. */
const MAX_PRESENTED_LENGTH = 256

/** Equal-length hex digests compared without an early exit, so the time taken says nothing about where they differ. */
export const constantTimeEqual = (a: string, b: string): boolean => {
  if (a.length !== b.length) return false
  let difference = 0
  for (let index = 0; index < a.length; index++) difference |= a.charCodeAt(index) ^ b.charCodeAt(index)
  return difference === 0
}

const rank = (role: NightscoutRole | undefined) => (role === "uploader" ? 2 : role === "follower" ? 1 : 0)

/**
 * Every user's Nightscout-compatible site: `open` creates it, or rotates both of its credentials (the previous ones
 * stop working at once); `close` removes it; `authorize` tells who a presented credential is and what it may do.
 *
 * Credentials are random (the API secret 32 alphanumeric characters, about 190 bits; the read token
 * `follower-<32 hex>`, 128 bits) and stored as the SHA-256 of their SHA-1 hex, the form clients present. With that
 * much entropy a fast digest cannot be reversed, and being deterministic it lets the service's root site find the
 * user a credential belongs to.
 */
export class NightscoutSites extends Context.Service<
  NightscoutSites,
  {
    readonly open: (userId: UserId) => Effect.Effect<NightscoutSiteOpened, NightscoutSiteStoreError>
    readonly close: (userId: UserId) => Effect.Effect<boolean, NightscoutSiteStoreError>
    /**
     * The access the best of the presented credentials grants: on the site of `site` when given (a credential of
     * another user opens nothing there), else on the site of whichever user it belongs to (the service's root site).
     */
    readonly authorize: (
      presented: ReadonlyArray<PresentedCredential>,
      site: Option.Option<UserId>
    ) => Effect.Effect<NightscoutAccess, NightscoutAccessDenied | NightscoutSiteStoreError>
  }
>()("@bg-ingest/domain/NightscoutSites", {
  make: Effect.gen(function* () {
    const store = yield* NightscoutSiteStore
    const random = yield* SecureRandom.SecureRandom
    const digest = yield* Digest.Digest

    const sha1Hex = (text: string) => digest.digestHex(Digest.sha1, encoder.encode(text))
    const storedDigest = (sha1: string) =>
      digest.digestHex(Digest.sha256, encoder.encode(`bg-ingest/nightscout\u0000${sha1.toLowerCase()}`))

    const randomSecret = Effect.gen(function* () {
      let secret = ""
      while (secret.length < SECRET_LENGTH) {
        for (const byte of yield* random.randomBytes(SECRET_LENGTH)) {
          // 248 = 4 × 62: bytes above it are dropped so that every character is equally likely.
          if (byte < 248 && secret.length < SECRET_LENGTH) secret += ALPHANUMERIC[byte % 62]
        }
      }
      return secret
    })

    const randomToken = Effect.map(
      random.randomBytes(TOKEN_BYTES),
      (bytes) => `${TOKEN_NAME}-${Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("")}`
    )

    /** The stored digest a presentation corresponds to, or none when it cannot be a credential at all. */
    const digestOf = Effect.fnUntraced(function* (presented: PresentedCredential) {
      if (presented.value.length === 0 || presented.value.length > MAX_PRESENTED_LENGTH) return Option.none()
      if (presented.form === "sha1") {
        return SHA1_HEX.test(presented.value) ? Option.some(yield* storedDigest(presented.value)) : Option.none()
      }
      return Option.some(yield* storedDigest(yield* sha1Hex(presented.value)))
    })

    const open = Effect.fn("NightscoutSites.open")(function* (userId: UserId) {
      yield* Effect.annotateCurrentSpan({ userId })
      const apiSecret = yield* randomSecret
      const readToken = yield* randomToken
      const { created } = yield* store.save({
        userId,
        secretHash: yield* storedDigest(yield* sha1Hex(apiSecret)),
        tokenHash: yield* storedDigest(yield* sha1Hex(readToken)),
        at: yield* DateTime.now
      })
      yield* Effect.logInfo(created ? "Nightscout site opened" : "Nightscout site credentials rotated").pipe(
        Effect.annotateLogs({ userId })
      )
      return { created, apiSecret: Redacted.make(apiSecret), readToken: Redacted.make(readToken) }
    })

    const close = Effect.fn("NightscoutSites.close")(function* (userId: UserId) {
      yield* Effect.annotateCurrentSpan({ userId })
      const existed = yield* store.remove(userId)
      if (existed) yield* Effect.logInfo("Nightscout site closed").pipe(Effect.annotateLogs({ userId }))
      return existed
    })

    /** The role one presentation grants on one user's site, compared with the stored digests in constant time. */
    const roleOnSite = Effect.fnUntraced(function* (
      presented: PresentedCredential,
      hashes: { readonly secretHash: string; readonly tokenHash: string }
    ) {
      const candidate = yield* digestOf(presented)
      if (Option.isNone(candidate)) return undefined
      const isSecret = constantTimeEqual(candidate.value, hashes.secretHash)
      const isToken = constantTimeEqual(candidate.value, hashes.tokenHash)
      if (isSecret && presented.form === "sha1") return "uploader" as const
      return isToken ? ("follower" as const) : undefined
    })

    /** The user and role one presentation is a current credential of, at the root site. */
    const roleAnywhere = Effect.fnUntraced(function* (presented: PresentedCredential) {
      const candidate = yield* digestOf(presented)
      if (Option.isNone(candidate)) return undefined
      const match = yield* store.find(candidate.value)
      if (Option.isNone(match)) return undefined
      if (match.value.role === "uploader" && presented.form !== "sha1") return undefined
      return match.value
    })

    const authorize = Effect.fn("NightscoutSites.authorize")(function* (
      presented: ReadonlyArray<PresentedCredential>,
      site: Option.Option<UserId>
    ) {
      if (presented.length === 0) {
        return yield* new NightscoutAccessDenied({ reason: "missing", message: "No credential was presented" })
      }
      let best: NightscoutAccess | undefined
      if (Option.isSome(site)) {
        const stored = yield* store.get(site.value)
        if (Option.isSome(stored)) {
          for (const candidate of presented) {
            const role = yield* roleOnSite(candidate, stored.value)
            if (rank(role) > rank(best?.role)) best = { userId: site.value, role: role! }
          }
        }
      } else {
        for (const candidate of presented) {
          const match = yield* roleAnywhere(candidate)
          if (match === undefined) continue
          // Credentials of two users in one request name no one.
          if (best !== undefined && best.userId !== match.userId) {
            return yield* new NightscoutAccessDenied({
              reason: "invalid",
              message: "The credentials presented belong to different sites"
            })
          }
          if (rank(match.role) > rank(best?.role)) best = match
        }
      }
      if (best === undefined) {
        return yield* new NightscoutAccessDenied({
          reason: "invalid",
          message: "The credential is not a current credential of this site"
        })
      }
      return best
    })

    return { open, close, authorize }
  })
}) {
  /**
   * Needs a `NightscoutSiteStore`, and `effect/crypto`'s `SecureRandom` and `Digest`, whose implementation the
   * composition root chooses.
   */
  static readonly layer = Layer.effect(this, this.make)
}
