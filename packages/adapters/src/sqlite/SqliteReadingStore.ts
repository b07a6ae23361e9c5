import {
  countSetAside,
  type GlucoseStatus,
  isHoldableInstant,
  type ProviderId,
  type Reading,
  type ReadingChange,
  type ReadingChangeKind,
  ReadingStore,
  ReadingStoreError,
  readingEpochSeconds,
  type Trend,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Duration, Effect, Layer, Option } from "effect"
import { tryMethods } from "../spans/PortMethods.ts"
import { CONFIRM_READING, READING_COLUMNS, RELEASE_READING, UPSERT_READING } from "./ReadingStatements.ts"
import { SqliteDatabase } from "./SqliteDatabase.ts"
import { sqliteFailure } from "./SqliteFailure.ts"

interface ReadingRow {
  readonly user_id: string
  readonly ts: number
  readonly glucose_mg_dl: number
  readonly trend: string
  readonly trend_rate: number | null
  readonly status: string
  readonly provider: string
  readonly record_id: string | null
  readonly display_time: string | null
  readonly pending_event?: ReadingChangeKind | null
}

const COLUMNS = READING_COLUMNS
const LATEST_SECOND = 253_402_300_799

// Rows are written only by this adapter from validated readings, so they are trusted on the way out.
const toReading = (row: ReadingRow): Reading => ({
  userId: row.user_id as UserId,
  timestamp: DateTime.fromEpochSeconds(row.ts),
  glucoseMgDl: row.glucose_mg_dl,
  trend: row.trend as Trend,
  trendRate: row.trend_rate,
  status: row.status as GlucoseStatus,
  source: { provider: row.provider as ProviderId, recordId: row.record_id },
  displayTime: row.display_time
})

/** A row of `READING_COLUMNS` as an array, in that order (`setReturnArrays`). */
type ReadingArray = readonly [
  user_id: string,
  ts: number,
  glucose_mg_dl: number,
  trend: string,
  trend_rate: number | null,
  status: string,
  provider: string,
  record_id: string | null,
  display_time: string | null
]

/**
 * The read path's rows come as arrays: node:sqlite builds a row object property by property, and reading those
 * objects is slow too; arrays halve the time of a 24-hour range's SELECT and make this mapping 3× faster
 * (bench/http.ts).
 */
const arrayToReading = (row: ReadingArray): Reading => ({
  userId: row[0] as UserId,
  timestamp: DateTime.fromEpochSeconds(row[1]),
  glucoseMgDl: row[2],
  trend: row[3] as Trend,
  trendRate: row[4],
  status: row[5] as GlucoseStatus,
  source: { provider: row[6] as ProviderId, recordId: row[7] },
  displayTime: row[8]
})

const failure = sqliteFailure(
  (fields: ConstructorParameters<typeof ReadingStoreError>[0]) => new ReadingStoreError(fields)
)

/** The embedded `ReadingStore`: one `node:sqlite` table keyed by `(user_id, ts)`, one transaction per batch. */
export const makeSqliteReadingStore = Effect.gen(function* () {
  const { db, transaction } = yield* SqliteDatabase
  const method = tryMethods("SqliteReadingStore", failure)

  const upsert = db.prepare(UPSERT_READING)
  const pendingOf = db.prepare(
    "SELECT pending_event FROM readings WHERE user_id = ? AND ts = ? AND pending_event IS NOT NULL"
  )
  const confirm = db.prepare(CONFIRM_READING)
  const unpublished = db.prepare(
    `SELECT ${COLUMNS}, pending_event FROM readings WHERE pending_event IS NOT NULL ORDER BY ingested_at LIMIT ?`
  )
  const setAside = db.prepare("UPDATE readings SET pending_event = NULL WHERE user_id = ? AND ts = ?")
  const claimable = db.prepare(
    `SELECT ${COLUMNS}, pending_event FROM readings
     WHERE pending_event IS NOT NULL AND COALESCE(publish_claim, updated_at) <= ? ORDER BY ingested_at LIMIT ?`
  )
  const claim = db.prepare("UPDATE readings SET publish_claim = ? WHERE user_id = ? AND ts = ?")
  const release = db.prepare(RELEASE_READING)
  // Rows outside 1970–9999 (stored before instants were checked) are never served: they cannot be formatted.
  const latest = db.prepare(
    `SELECT ${COLUMNS} FROM readings WHERE user_id = ? AND ts BETWEEN 0 AND ${LATEST_SECOND} ORDER BY ts DESC LIMIT 1`
  )
  const range = db.prepare(
    `SELECT ${COLUMNS} FROM readings WHERE user_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?`
  )
  const rangeNewestFirst = db.prepare(
    `SELECT ${COLUMNS} FROM readings WHERE user_id = ? AND ts >= ? AND ts < ? ORDER BY ts DESC LIMIT ?`
  )
  for (const statement of [latest, range, rangeNewestFirst]) statement.setReturnArrays(true)
  const deleteUser = db.prepare("DELETE FROM readings WHERE user_id = ?")
  const ping = db.prepare("SELECT 1")

  /**
   * Owed events of `rows`. An owed event whose instant no contract can carry would come back first in every sweep:
   * it leaves the outbox (logged and counted), so that the others are published. Runs in a transaction.
   */
  const owedOf = (rows: ReadonlyArray<ReadingRow>) => {
    const owed: Array<ReadingChange> = []
    let unholdable = 0
    for (const row of rows) {
      if (isHoldableInstant(row.ts * 1000)) owed.push({ kind: row.pending_event!, reading: toReading(row) })
      else {
        setAside.run(row.user_id, row.ts)
        unholdable += 1
      }
    }
    return { owed, setAside: unholdable }
  }

  const unpublishedOrSetAside = method("unpublished", (limit: number) =>
    transaction(() => owedOf(unpublished.all(limit) as unknown as ReadonlyArray<ReadingRow>))
  )

  const claimOrSetAside = method("claimUnpublished", (limit: number, now: number, claimMillis: number) =>
    transaction(() => {
      const rows = claimable.all(now - claimMillis, limit) as unknown as ReadonlyArray<ReadingRow>
      for (const row of rows) claim.run(now, row.user_id, row.ts)
      return owedOf(rows)
    })
  )

  const reportSetAside = ({ owed, setAside }: { owed: ReadonlyArray<ReadingChange>; setAside: number }) =>
    setAside === 0
      ? Effect.succeed(owed)
      : countSetAside("event", "sqlite", setAside).pipe(
          Effect.andThen(
            Effect.logWarning("Owed events of stored readings outside 1970–9999 were set aside", {
              count: setAside
            })
          ),
          Effect.as(owed)
        )

  const putManyAt = method("putMany", (readings: ReadonlyArray<Reading>, now: number) => {
    let inserted = 0
    let updated = 0
    let unchanged = 0
    const changes: Array<ReadingChange> = []
    const owed: Array<ReadingChange> = []
    transaction(() => {
      for (const reading of readings) {
        const second = readingEpochSeconds(reading)
        const written = upsert.get(
          reading.userId,
          second,
          reading.glucoseMgDl,
          reading.trend,
          reading.trendRate,
          reading.status,
          reading.source.provider,
          reading.source.recordId,
          reading.displayTime,
          now,
          now
        ) as { revision: number; pending_event: ReadingChangeKind } | undefined
        if (written !== undefined) {
          if (written.revision === 0) inserted += 1
          else updated += 1
          changes.push({ kind: written.pending_event, reading })
        } else {
          unchanged += 1
          const pending = pendingOf.get(reading.userId, second) as { pending_event: ReadingChangeKind } | undefined
          if (pending !== undefined) owed.push({ kind: pending.pending_event, reading })
        }
      }
    })
    return { inserted, updated, unchanged, changes, owed }
  })

  /** A reading's row and the measurement it must still hold, as the confirm and release statements take them. */
  const storedMeasurement = (reading: Reading) =>
    [
      reading.userId,
      readingEpochSeconds(reading),
      reading.glucoseMgDl,
      reading.trend,
      reading.trendRate,
      reading.status
    ] as const

  return ReadingStore.of({
    putMany: (readings) => Effect.flatMap(Clock.currentTimeMillis, (now) => putManyAt(readings, now)),
    markPublished: method("markPublished", (readings) =>
      transaction(() => {
        for (const reading of readings) {
          confirm.run(...storedMeasurement(reading))
        }
      })
    ),
    unpublished: (limit) => Effect.flatMap(unpublishedOrSetAside(limit), reportSetAside),
    claimUnpublished: ({ limit, now, claim }) =>
      Effect.flatMap(claimOrSetAside(limit, DateTime.toEpochMillis(now), Duration.toMillis(claim)), reportSetAside),
    releaseUnpublished: method("releaseUnpublished", (readings: ReadonlyArray<Reading>) =>
      transaction(() => {
        for (const reading of readings) {
          release.run(...storedMeasurement(reading))
        }
      })
    ),
    latest: method("latest", (userId) => {
      const row = latest.get(userId) as unknown as ReadingArray | undefined
      return row === undefined ? Option.none() : Option.some(arrayToReading(row))
    }),
    range: method("range", (userId, window, limit, order = "oldestFirst") =>
      (
        (order === "oldestFirst" ? range : rangeNewestFirst).all(
          userId,
          Math.ceil(DateTime.toEpochMillis(window.from) / 1000),
          Math.ceil(DateTime.toEpochMillis(window.to) / 1000),
          limit
        ) as unknown as ReadonlyArray<ReadingArray>
      ).map(arrayToReading)
    ),
    deleteUser: method("deleteUser", (userId) => Number(deleteUser.run(userId).changes)),
    ping: method("ping", () => void ping.get())()
  })
})

export const SqliteReadingStore = {
  /** Needs a `SqliteDatabase`. */
  layer: Layer.effect(ReadingStore, makeSqliteReadingStore)
} as const
