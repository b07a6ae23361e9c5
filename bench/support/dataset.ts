import { DatabaseSync, type StatementSync } from "node:sqlite"
import { formatDisplayTime, profileOf, rawGlucose, SIMULATOR_PROVIDER_ID } from "@bg-ingest/adapters/simulator"
import { migrations, openDatabase } from "@bg-ingest/adapters/sqlite"
import { formatInstant, makeReading, type Reading, readingEpochSeconds, trendFromRate, UserId } from "@bg-ingest/domain"
import { DateTime } from "effect"

export const CADENCE_SECONDS = 300
export const READINGS_PER_DAY = 86_400 / CADENCE_SECONDS
/** The benchmark user holds exactly this many readings: 90 days at one every 5 minutes. */
export const NINETY_DAYS_OF_READINGS = 90 * READINGS_PER_DAY

export const BENCH_USER = UserId.make("bench-user")

/** The newest whole 5 minutes before now: the time of every series' newest reading. */
export const currentAnchorSeconds = () =>
  Math.floor(Date.now() / 1000 / CADENCE_SECONDS) * CADENCE_SECONDS - CADENCE_SECONDS

/**
 * `count` readings of `userId` every 5 minutes up to and including `anchorSeconds`, oldest first, without gaps,
 * valued by the simulator's glucose model: deterministic for a given anchor, and realistic in their JSON size
 * (trends, rates, high/low clamping).
 */
export const readingSeries = (userId: UserId, anchorSeconds: number, count: number): Array<Reading> => {
  const profile = profileOf(userId)
  const readings: Array<Reading> = []
  for (let index = count - 1; index >= 0; index--) {
    const seconds = anchorSeconds - index * CADENCE_SECONDS
    const raw = rawGlucose(profile, seconds)
    const clamped = raw > 400 ? 400 : raw < 40 ? 40 : Math.round(raw)
    const status = raw > 400 ? "high" : raw < 40 ? "low" : "ok"
    const trendRate =
      status === "ok" ? Math.round(((raw - rawGlucose(profile, seconds - CADENCE_SECONDS)) / 5) * 10) / 10 : null
    readings.push(
      makeReading({
        userId,
        timestamp: DateTime.makeUnsafe(seconds * 1000),
        glucoseMgDl: clamped,
        trend: status === "ok" ? trendFromRate(trendRate) : "rateOutOfRange",
        trendRate,
        status,
        source: { provider: SIMULATOR_PROVIDER_ID, recordId: `sim-${seconds / CADENCE_SECONDS}` },
        displayTime: formatDisplayTime(seconds, profile.utcOffsetMinutes)
      })
    )
  }
  return readings
}

/** Splits readings into consecutive batches of `size`. */
export const batches = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const result: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size))
  return result
}

/** The readings table's columns as the SQLite adapter writes them for a stored, published reading. */
export const INSERT_READING_SQL = `
  INSERT INTO readings (user_id, ts, glucose_mg_dl, trend, trend_rate, status, provider, record_id, display_time,
    ingested_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

export const insertReadings = (db: DatabaseSync, statement: StatementSync, readings: ReadonlyArray<Reading>) => {
  const now = Date.now()
  db.exec("BEGIN IMMEDIATE")
  try {
    insertEach(statement, readings, now)
    db.exec("COMMIT")
  } catch (error) {
    db.exec("ROLLBACK")
    throw error
  }
}

const insertEach = (statement: StatementSync, readings: ReadonlyArray<Reading>, now: number) => {
  for (const reading of readings) {
    statement.run(
      reading.userId,
      readingEpochSeconds(reading),
      reading.glucoseMgDl,
      reading.trend,
      reading.trendRate,
      reading.status,
      reading.source.provider,
      reading.source.recordId,
      reading.displayTime,
      now,
      now
    )
  }
}

/**
 * A bg-ingest SQLite database (the adapter's own migrations) holding 90 days for the benchmark user and for
 * `otherUsers` more users, every event confirmed: what the service holds after ingesting and publishing them.
 */
export const prefillDatabase = (filename: string, anchorSeconds: number, otherUsers: number) => {
  const { db } = openDatabase(filename, migrations)
  try {
    const insert = db.prepare(INSERT_READING_SQL)
    const users = [
      BENCH_USER,
      ...Array.from({ length: otherUsers }, (_, index) => UserId.make(`other-user-${index + 1}`))
    ]
    for (const userId of users) {
      insertReadings(db, insert, readingSeries(userId, anchorSeconds, NINETY_DAYS_OF_READINGS))
    }
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)")
    return users.length * NINETY_DAYS_OF_READINGS
  } finally {
    db.close()
  }
}

/** `from`/`to` of the last `hours` up to just after the newest reading: exactly `hours × 12` readings. */
export const windowQuery = (anchorSeconds: number, hours: number) => {
  const to = anchorSeconds + 1
  const from = to - hours * 3600
  const at = (seconds: number) => formatInstant(DateTime.makeUnsafe(seconds * 1000))
  return `from=${at(from)}&to=${at(to)}`
}

/**
 * A bare `node:sqlite` database with bg-ingest's schema (the migrations' own SQL) and the same pragmas as the
 * adapter (WAL, synchronous FULL): the baseline's table is the service's table.
 */
export const openBareDatabase = (filename: string) => {
  const db = new DatabaseSync(filename, { timeout: 5000 })
  db.exec("PRAGMA journal_mode = WAL")
  db.exec("PRAGMA synchronous = FULL")
  for (const migration of migrations) db.exec(migration.sql)
  return db
}
