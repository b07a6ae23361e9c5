import {
  ConnectionStore,
  NeedsReauthorization,
  type ProviderId,
  ProviderUnavailable,
  type UserId
} from "@bg-ingest/domain"
import { Effect, Option, Schema } from "effect"
import { TokenCipher, type TokenDecryptionFailed } from "../crypto/TokenCipher.ts"

/** How a user is told about credentials that are missing or cannot be read. */
export interface CredentialVaultWording {
  /** What is stored: "Dexcom Share credentials", "Nightscout site". */
  readonly what: string
  /** What the user does to store it: "connect the account", "connect it". */
  readonly reconnect: string
}

export type CredentialVaultError = NeedsReauthorization | ProviderUnavailable

export interface CredentialVault<A> {
  /** `credentials` sealed for `Connection.credentials`, bound to the user: copied to another user, they do not open. */
  readonly seal: (userId: UserId, credentials: A) => Effect.Effect<string>
  /** The user's credentials as stored (still sealed); `NeedsReauthorization` when none are. */
  readonly sealedOf: (userId: UserId) => Effect.Effect<string, CredentialVaultError>
  /** Opens what `seal` answered; credentials that cannot be opened or read need a person to store them again. */
  readonly open: (userId: UserId, sealed: string) => Effect.Effect<A, CredentialVaultError>
  /** The user's stored credentials, opened. */
  readonly read: (userId: UserId) => Effect.Effect<A, CredentialVaultError>
}

/**
 * The credentials a provider keeps in its users' connections, sealed by the `TokenCipher` and read back from the
 * `ConnectionStore`. A changed key (`wrong_key`) is the service's fault, answered as the provider being
 * unavailable so that the connection is not sent back to its user; anything else unreadable needs the user.
 */
export const makeCredentialVault = Effect.fnUntraced(function* <A, I>(
  provider: ProviderId,
  schema: Schema.Codec<A, I>,
  wording: CredentialVaultWording
) {
  const connections = yield* ConnectionStore
  const cipher = yield* TokenCipher
  const json = Schema.fromJsonString(schema)
  const encode = Schema.encodeSync(json)
  const decode = Schema.decodeUnknownEffect(json)
  const sealingContext = (userId: UserId) => `${provider}:${userId}`

  const unreadable = (reason: TokenDecryptionFailed["reason"]) =>
    new NeedsReauthorization({
      provider,
      message: `The stored ${wording.what} cannot be read (${reason}): ${wording.reconnect} again`
    })

  const seal = (userId: UserId, credentials: A) => cipher.seal(encode(credentials), sealingContext(userId))

  const sealedOf = Effect.fnUntraced(function* (userId: UserId) {
    const found = yield* connections
      .get(userId, provider)
      .pipe(
        Effect.mapError(
          (error) => new ProviderUnavailable({ provider, message: `Cannot read the connection: ${error.message}` })
        )
      )
    if (Option.isNone(found) || found.value.credentials === null) {
      return yield* new NeedsReauthorization({
        provider,
        message: `No ${wording.what} stored: ${wording.reconnect}`
      })
    }
    return found.value.credentials
  })

  const open = Effect.fnUntraced(function* (userId: UserId, sealed: string) {
    const opened = yield* cipher
      .open(sealed, sealingContext(userId))
      .pipe(
        Effect.mapError((failure) =>
          failure.reason === "wrong_key"
            ? new ProviderUnavailable({ provider, message: failure.message })
            : unreadable(failure.reason)
        )
      )
    return yield* decode(opened).pipe(Effect.mapError(() => unreadable("malformed")))
  })

  const read = Effect.fnUntraced(function* (userId: UserId) {
    return yield* open(userId, yield* sealedOf(userId))
  })

  return { seal, sealedOf, open, read } satisfies CredentialVault<A>
})
