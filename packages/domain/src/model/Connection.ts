import { DateTime, Schema } from "effect"
import { ProviderId, UserId } from "./Identifiers.ts"
import { toWholeSeconds } from "./Reading.ts"

export const ConnectionStatuses = ["active", "needs_reauthorization", "rate_limited", "error", "disconnected"] as const
export const ConnectionStatus = Schema.Literals(ConnectionStatuses)
export type ConnectionStatus = typeof ConnectionStatus.Type

/** Statuses the scheduler keeps polling. The others wait for a person (re-authorize, reconnect). */
export const pollableStatuses: ReadonlyArray<ConnectionStatus> = ["active", "rate_limited", "error"]

/**
 * A user's link to one provider, with everything the scheduler and the status page need.
 * `syncedThrough` is the sync cursor: every reading before it has been stored and its event confirmed.
 */
export const Connection = Schema.Struct({
  userId: UserId,
  provider: ProviderId,
  status: ConnectionStatus,
  /** Provider credentials, encrypted by the adapter that owns them; opaque to everything else. */
  credentials: Schema.NullOr(Schema.String),
  /** Where the first sync starts (the backfill horizon). */
  backfillFrom: Schema.DateTimeUtc,
  syncedThrough: Schema.NullOr(Schema.DateTimeUtc),
  lastSyncAt: Schema.NullOr(Schema.DateTimeUtc),
  lastReadingAt: Schema.NullOr(Schema.DateTimeUtc),
  /**
   * When the last successful pull began, as the provider counts time: the next sync asks the provider what
   * changed since then. Null until a provider that can tell what changed has been pulled.
   */
  changesSince: Schema.NullOr(Schema.DateTimeUtc),
  lastError: Schema.NullOr(Schema.String),
  /** When the scheduler polls next; null when the connection is not polled. */
  nextPollAt: Schema.NullOr(Schema.DateTimeUtc),
  consecutiveFailures: Schema.Int,
  createdAt: Schema.DateTimeUtc,
  updatedAt: Schema.DateTimeUtc
})
export type Connection = typeof Connection.Type

/** The user has no connection to the provider (or the provider id is not one at all). */
export class ConnectionNotFound extends Schema.TaggedError<ConnectionNotFound>()("ConnectionNotFound", {
  userId: Schema.String,
  provider: Schema.String,
  message: Schema.String
}) {}

export const connectionNotFound = (userId: string, provider: string): ConnectionNotFound =>
  new ConnectionNotFound({ userId, provider, message: `${userId} has no ${provider} connection` })

/** The fields a writer may change; absent keys are left as stored. */
export type ConnectionPatch = Partial<Omit<Connection, "userId" | "provider" | "createdAt">>

export interface BackfillProgress {
  /** True once a sync has finished since the connection was made, or the cursor reached that time. */
  readonly complete: boolean
  /** The share of the span from `backfillFrom` to the connection's creation that is synced, in [0, 1]. */
  readonly fraction: number
}

/** How far the first sync of a connection (its backfill) has come, from the fields the sync keeps up to date. */
export const backfillProgress = (connection: Connection): BackfillProgress => {
  const from = DateTime.toEpochMillis(connection.backfillFrom)
  const target = DateTime.toEpochMillis(connection.createdAt)
  const through = connection.syncedThrough === null ? from : DateTime.toEpochMillis(connection.syncedThrough)
  const complete =
    through >= target || (connection.lastSyncAt !== null && DateTime.toEpochMillis(connection.lastSyncAt) >= target)
  if (complete) return { complete, fraction: 1 }
  const span = target - from
  return { complete, fraction: span <= 0 ? 1 : Math.min(1, Math.max(0, (through - from) / span)) }
}

/**
 * A new, active connection, due at once: its first sync backfills from `backfillFrom`, in whole seconds (the
 * precision of readings and of every time the API shows, so the horizon a client reads is the one synced).
 */
export const newConnection = (options: {
  readonly userId: Connection["userId"]
  readonly provider: Connection["provider"]
  readonly backfillFrom: Connection["backfillFrom"]
  readonly credentials: string | null
  readonly now: Connection["createdAt"]
}): Connection => ({
  userId: options.userId,
  provider: options.provider,
  status: "active",
  credentials: options.credentials,
  backfillFrom: toWholeSeconds(options.backfillFrom),
  syncedThrough: null,
  lastSyncAt: null,
  lastReadingAt: null,
  changesSince: null,
  lastError: null,
  nextPollAt: options.now,
  consecutiveFailures: 0,
  createdAt: options.now,
  updatedAt: options.now
})
