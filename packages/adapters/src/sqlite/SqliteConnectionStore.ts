import {
  type Connection,
  type ConnectionPatch,
  type ConnectionStatus,
  ConnectionStatuses,
  ConnectionStore,
  ConnectionStoreError,
  type HeldLease,
  type ProviderId,
  pollableStatuses,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import { tryMethods } from "../spans/PortMethods.ts"
import { SqliteDatabase } from "./SqliteDatabase.ts"
import { sqliteFailure } from "./SqliteFailure.ts"

interface ConnectionRow {
  readonly user_id: string
  readonly provider: string
  readonly status: string
  readonly credentials: string | null
  readonly backfill_from: number
  readonly synced_through: number | null
  readonly last_sync_at: number | null
  readonly last_reading_at: number | null
  readonly changes_since: number | null
  readonly last_error: string | null
  readonly next_poll_at: number | null
  readonly consecutive_failures: number
  readonly created_at: number
  readonly updated_at: number
}

const instant = (millis: number | null) => (millis === null ? null : DateTime.makeUnsafe(millis))
const millis = (value: DateTime.Utc | null) => (value === null ? null : DateTime.toEpochMillis(value))

const toConnection = (row: ConnectionRow): Connection => ({
  userId: row.user_id as UserId,
  provider: row.provider as ProviderId,
  status: row.status as ConnectionStatus,
  credentials: row.credentials,
  backfillFrom: DateTime.makeUnsafe(row.backfill_from),
  syncedThrough: instant(row.synced_through),
  lastSyncAt: instant(row.last_sync_at),
  lastReadingAt: instant(row.last_reading_at),
  changesSince: instant(row.changes_since),
  lastError: row.last_error,
  nextPollAt: instant(row.next_poll_at),
  consecutiveFailures: row.consecutive_failures,
  createdAt: DateTime.makeUnsafe(row.created_at),
  updatedAt: DateTime.makeUnsafe(row.updated_at)
})

/** Column and SQL value of each field a patch may carry. */
const patchColumns: {
  readonly [K in keyof ConnectionPatch]-?: (value: NonNullable<ConnectionPatch>[K]) => [string, unknown]
} = {
  status: (value) => ["status", value],
  credentials: (value) => ["credentials", value],
  backfillFrom: (value) => ["backfill_from", millis(value ?? null)],
  syncedThrough: (value) => ["synced_through", millis(value ?? null)],
  lastSyncAt: (value) => ["last_sync_at", millis(value ?? null)],
  lastReadingAt: (value) => ["last_reading_at", millis(value ?? null)],
  changesSince: (value) => ["changes_since", millis(value ?? null)],
  lastError: (value) => ["last_error", value],
  nextPollAt: (value) => ["next_poll_at", millis(value ?? null)],
  consecutiveFailures: (value) => ["consecutive_failures", value],
  updatedAt: (value) => ["updated_at", millis(value ?? null)]
}

const failure = sqliteFailure(
  (fields: ConstructorParameters<typeof ConnectionStoreError>[0]) => new ConnectionStoreError(fields)
)

/** The embedded `ConnectionStore`, in the same SQLite database as the readings. */
export const makeSqliteConnectionStore = Effect.gen(function* () {
  const { db, transaction } = yield* SqliteDatabase
  const method = tryMethods("SqliteConnectionStore", failure)
  const select = db.prepare("SELECT * FROM connections WHERE user_id = ? AND provider = ?")
  const selectForUser = db.prepare("SELECT * FROM connections WHERE user_id = ? ORDER BY provider")
  const upsert = db.prepare(`
    INSERT OR REPLACE INTO connections (user_id, provider, status, credentials, backfill_from, synced_through,
      last_sync_at, last_reading_at, changes_since, last_error, next_poll_at, consecutive_failures, created_at,
      updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const remove = db.prepare("DELETE FROM connections WHERE user_id = ? AND provider = ?")
  const lease = db.prepare(
    "UPDATE connections SET next_poll_at = ?, lease_holder = ? WHERE user_id = ? AND provider = ?"
  )
  const moveLease = db.prepare(`
    UPDATE connections SET next_poll_at = ?
    WHERE user_id = ? AND provider = ? AND lease_holder = ? AND next_poll_at IN (?, ?) AND status IN (${pollableStatuses.map((status) => `'${status}'`).join(", ")})`)
  /** Moves a lease still held to `to` (a repeat, already there, counts as moved). */
  const moveLeaseTo = (held: HeldLease, to: DateTime.Utc) =>
    Number(
      moveLease.run(
        DateTime.toEpochMillis(to),
        held.userId,
        held.provider,
        held.holder,
        DateTime.toEpochMillis(held.until),
        DateTime.toEpochMillis(to)
      ).changes
    ) > 0
  const counts = db.prepare("SELECT status, COUNT(*) AS count FROM connections GROUP BY status")
  const pollable = pollableStatuses.map((status) => `'${status}'`).join(", ")
  const updates = new Map<string, ReturnType<typeof db.prepare>>()

  return ConnectionStore.of({
    get: method("get", (userId, provider) => {
      const row = select.get(userId, provider) as ConnectionRow | undefined
      return row === undefined ? Option.none() : Option.some(toConnection(row))
    }),
    listForUser: method("listForUser", (userId) =>
      (selectForUser.all(userId) as unknown as ReadonlyArray<ConnectionRow>).map(toConnection)
    ),
    upsert: method(
      "upsert",
      (connection: Connection) =>
        void upsert.run(
          connection.userId,
          connection.provider,
          connection.status,
          connection.credentials,
          DateTime.toEpochMillis(connection.backfillFrom),
          millis(connection.syncedThrough),
          millis(connection.lastSyncAt),
          millis(connection.lastReadingAt),
          millis(connection.changesSince),
          connection.lastError,
          millis(connection.nextPollAt),
          connection.consecutiveFailures,
          DateTime.toEpochMillis(connection.createdAt),
          DateTime.toEpochMillis(connection.updatedAt)
        )
    ),
    update: method("update", (userId, provider, patch) => {
      const assignments = (Object.keys(patch) as Array<keyof ConnectionPatch>)
        .filter((key) => patch[key] !== undefined)
        .map((key) => (patchColumns[key] as (value: unknown) => [string, unknown])(patch[key]))
      if (assignments.length > 0) {
        const sql = `UPDATE connections SET ${assignments.map(([column]) => `${column} = ?`).join(", ")} WHERE user_id = ? AND provider = ?`
        let statement = updates.get(sql)
        if (statement === undefined) {
          statement = db.prepare(sql)
          updates.set(sql, statement)
        }
        statement.run(...(assignments.map(([, value]) => value) as Array<never>), userId, provider)
      }
      const row = select.get(userId, provider) as ConnectionRow | undefined
      return row === undefined ? Option.none() : Option.some(toConnection(row))
    }),
    remove: method(
      "remove",
      (userId: UserId, provider: ProviderId) => Number(remove.run(userId, provider).changes) > 0
    ),
    claimDue: method("claimDue", ({ now, leaseUntil, providers, limit, holder }) => {
      if (providers.length === 0) return []
      const due = db.prepare(`
            SELECT * FROM connections
            WHERE next_poll_at IS NOT NULL AND next_poll_at <= ? AND status IN (${pollable})
              AND provider IN (${providers.map(() => "?").join(", ")})
            ORDER BY next_poll_at LIMIT ?`)
      return transaction(() => {
        const rows = due.all(
          DateTime.toEpochMillis(now),
          ...providers,
          limit
        ) as unknown as ReadonlyArray<ConnectionRow>
        const until = DateTime.toEpochMillis(leaseUntil)
        for (const row of rows) lease.run(until, holder, row.user_id, row.provider)
        return rows.map(toConnection)
      })
    }),
    renewLease: method("renewLease", moveLeaseTo),
    releaseLease: method("releaseLease", moveLeaseTo),
    countByStatus: method("countByStatus", () => {
      const result = Object.fromEntries(ConnectionStatuses.map((status) => [status, 0])) as Record<
        ConnectionStatus,
        number
      >
      for (const row of counts.all() as unknown as ReadonlyArray<{ status: ConnectionStatus; count: number }>) {
        result[row.status] = row.count
      }
      return result
    })()
  })
})

export const SqliteConnectionStore = {
  /** Needs a `SqliteDatabase`. */
  layer: Layer.effect(ConnectionStore, makeSqliteConnectionStore)
} as const
