import { Context, type DateTime, type Effect, type Option, Schema } from "effect"
import type { Connection, ConnectionPatch, ConnectionStatus } from "../model/Connection.ts"
import type { ProviderId, UserId } from "../model/Identifiers.ts"
import { PortFailure } from "./PortFailure.ts"

export class ConnectionStoreError extends Schema.TaggedError<ConnectionStoreError>()("ConnectionStoreError", {
  operation: Schema.Literals([
    "get",
    "listForUser",
    "upsert",
    "update",
    "remove",
    "claimDue",
    "renewLease",
    "releaseLease",
    "countByStatus"
  ]),
  ...PortFailure
}) {}

export interface ClaimDueOptions {
  readonly now: DateTime.Utc
  /** Claimed connections are not due again before this instant, so other replicas skip them meanwhile. */
  readonly leaseUntil: DateTime.Utc
  readonly providers: ReadonlyArray<ProviderId>
  readonly limit: number
  /**
   * Who claims (a replica's token): kept with each lease, so that only its holder renews or releases it, and so
   * that a claim retried after its answer was lost recognises its own lease instead of finding it taken.
   */
  readonly holder: string
}

/** A lease a replica holds on a connection it claimed: until `until`, as claimed or last renewed. */
export interface HeldLease {
  readonly userId: UserId
  readonly provider: ProviderId
  readonly holder: string
  readonly until: DateTime.Utc
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
  /**
   * Moves the end of a lease still held (same holder, the connection's `nextPollAt` still its end: no sync has
   * recorded an outcome meanwhile) to `until`; answers whether it was. Repeating a renewal that already landed
   * answers true.
   */
  readonly renewLease: (lease: HeldLease, until: DateTime.Utc) => Effect.Effect<boolean, ConnectionStoreError>
  /**
   * Gives a lease still held back early: the connection is due at `dueAt` (now, so that another replica takes it
   * at once); answers whether it was still held. Nothing changes when a sync has recorded an outcome meanwhile.
   */
  readonly releaseLease: (lease: HeldLease, dueAt: DateTime.Utc) => Effect.Effect<boolean, ConnectionStoreError>
  readonly countByStatus: Effect.Effect<Readonly<Record<ConnectionStatus, number>>, ConnectionStoreError>
}

export class ConnectionStore extends Context.Service<ConnectionStore, ConnectionStoreShape>()(
  "@bg-ingest/domain/ConnectionStore"
) {}
