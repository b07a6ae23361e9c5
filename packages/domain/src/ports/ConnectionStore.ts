import { Context, type DateTime, type Effect, type Option, Schema } from "effect"
import type { Connection, ConnectionPatch, ConnectionStatus } from "../model/Connection.ts"
import type { ProviderId, UserId } from "../model/Identifiers.ts"
import { PortFailure } from "./PortFailure.ts"

export class ConnectionStoreError extends Schema.TaggedError<ConnectionStoreError>()("ConnectionStoreError", {
  operation: Schema.Literals(["get", "listForUser", "upsert", "update", "remove", "claimDue", "countByStatus"]),
  ...PortFailure
}) {}

export interface ClaimDueOptions {
  readonly now: DateTime.Utc
  /** Claimed connections are not due again before this instant, so other replicas skip them meanwhile. */
  readonly leaseUntil: DateTime.Utc
  readonly providers: ReadonlyArray<ProviderId>
  readonly limit: number
}

export interface ConnectionStoreShape {
  readonly get: (userId: UserId, provider: ProviderId) => Effect.Effect<Option.Option<Connection>, ConnectionStoreError>
  readonly listForUser: (userId: UserId) => Effect.Effect<ReadonlyArray<Connection>, ConnectionStoreError>
  /** Creates the connection or replaces it whole. */
  readonly upsert: (connection: Connection) => Effect.Effect<void, ConnectionStoreError>
  /** Changes only the fields in `patch`; none when the connection does not exist. */
  readonly update: (
    userId: UserId,
    provider: ProviderId,
    patch: ConnectionPatch
  ) => Effect.Effect<Option.Option<Connection>, ConnectionStoreError>
  /** Deletes the connection and its credentials; answers whether it existed. */
  readonly remove: (userId: UserId, provider: ProviderId) => Effect.Effect<boolean, ConnectionStoreError>
  /**
   * Atomically takes up to `limit` pollable connections of the given providers whose `nextPollAt <= now`,
   * earliest first, and moves their `nextPollAt` to `leaseUntil`.
   */
  readonly claimDue: (options: ClaimDueOptions) => Effect.Effect<ReadonlyArray<Connection>, ConnectionStoreError>
  readonly countByStatus: Effect.Effect<Readonly<Record<ConnectionStatus, number>>, ConnectionStoreError>
}

export class ConnectionStore extends Context.Service<ConnectionStore, ConnectionStoreShape>()(
  "@bg-ingest/domain/ConnectionStore"
) {}
