import { Context, type Effect, type Option, Schema } from "effect"
import { ProviderId, UserId } from "../model/Identifiers.ts"
import { PortFailure } from "./PortFailure.ts"

export class OAuthStateStoreError extends Schema.TaggedError<OAuthStateStoreError>()("OAuthStateStoreError", {
  operation: Schema.Literals(["put", "consume"]),
  ...PortFailure
}) {}

/**
 * An authorization a user has started and not yet finished: the OAuth `state` sent to the provider's consent
 * page, bound to the user and the provider. Only a hash of the state is stored, so a copy of the store does not
 * let anyone finish someone else's authorization.
 */
export const PendingAuthorization = Schema.Struct({
  /** Lower-case hex SHA-256 of the state. */
  stateHash: Schema.String,
  userId: UserId,
  provider: ProviderId,
  createdAt: Schema.DateTimeUtc,
  expiresAt: Schema.DateTimeUtc
})
export type PendingAuthorization = typeof PendingAuthorization.Type

export interface OAuthStateStoreShape {
  /** Remembers a pending authorization. Implementations drop entries some time after `expiresAt` (a TTL). */
  readonly put: (pending: PendingAuthorization) => Effect.Effect<void, OAuthStateStoreError>
  /**
   * Atomically removes and returns the pending authorization of `stateHash`, so that of two concurrent
   * callbacks with the same state (or a replayed one) at most one gets it, on every replica. An entry past its
   * `expiresAt` may still be returned: the caller checks the expiry, so that it can say "expired".
   */
  readonly consume: (stateHash: string) => Effect.Effect<Option.Option<PendingAuthorization>, OAuthStateStoreError>
}

/** Where OAuth `state` values live between the redirect to the consent page and the callback. */
export class OAuthStateStore extends Context.Service<OAuthStateStore, OAuthStateStoreShape>()(
  "@bg-ingest/domain/OAuthStateStore"
) {}
