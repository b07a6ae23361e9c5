import { readFileSync } from "node:fs"
import type { DatabaseSync } from "node:sqlite"
import { type Reading, readingEpochSeconds } from "@bg-ingest/domain"

/**
 * The SQLite adapter's write statements, copied from packages/adapters/src/sqlite/SqliteReadingStore.ts: what
 * storing a batch costs in SQL alone (an upsert that says what changed, then a confirmation per reading once its
 * event is published), without Effect, the domain or events. `adapterSqlDrift` says when the copy is stale.
 */
const COLUMNS = "user_id, ts, glucose_mg_dl, trend, trend_rate, status, provider, record_id, display_time"

export const UPSERT_SQL = `
    INSERT INTO readings (${COLUMNS}, ingested_at, updated_at, revision, pending_event)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'created')
    ON CONFLICT (user_id, ts) DO UPDATE SET
      glucose_mg_dl = excluded.glucose_mg_dl, trend = excluded.trend, trend_rate = excluded.trend_rate,
      status = excluded.status, provider = excluded.provider, record_id = excluded.record_id,
      display_time = excluded.display_time, updated_at = excluded.updated_at,
      revision = readings.revision + 1, pending_event = COALESCE(readings.pending_event, 'updated')
    WHERE readings.glucose_mg_dl IS NOT excluded.glucose_mg_dl OR readings.trend IS NOT excluded.trend
       OR readings.trend_rate IS NOT excluded.trend_rate OR readings.status IS NOT excluded.status
    RETURNING revision, pending_event`

export const CONFIRM_SQL = `
    UPDATE readings SET pending_event = NULL
    WHERE user_id = ? AND ts = ? AND glucose_mg_dl = ? AND trend = ? AND trend_rate IS ? AND status = ?`

const ADAPTER_SOURCE = new URL("../../packages/adapters/src/sqlite/SqliteReadingStore.ts", import.meta.url)

const words = (sql: string) =>
  sql
    .replace(/\$\{COLUMNS\}/g, COLUMNS)
    .replace(/\s+/g, " ")
    .trim()

/** A note when the adapter's statements no longer contain this copy, or undefined. */
export const adapterSqlDrift = (): string | undefined => {
  const text = readFileSync(ADAPTER_SOURCE, "utf8")
  const source = words(text)
  return text.includes(`const COLUMNS = "${COLUMNS}"`) &&
    [UPSERT_SQL, CONFIRM_SQL].every((sql) => source.includes(words(sql)))
    ? undefined
    : "the adapter's SQL changed: update bench/support/adapterSql.ts"
}

/** Stores and confirms `batch` as the adapter does: two transactions, one statement per reading in each. */
export const makeAdapterSqlWriter = (db: DatabaseSync) => {
  const upsert = db.prepare(UPSERT_SQL)
  const confirm = db.prepare(CONFIRM_SQL)
  return (batch: ReadonlyArray<Reading>) => {
    const now = Date.now()
    db.exec("BEGIN IMMEDIATE")
    for (const reading of batch) {
      upsert.get(
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
    db.exec("COMMIT")
    db.exec("BEGIN IMMEDIATE")
    for (const reading of batch) {
      confirm.run(
        reading.userId,
        readingEpochSeconds(reading),
        reading.glucoseMgDl,
        reading.trend,
        reading.trendRate,
        reading.status
      )
    }
    db.exec("COMMIT")
  }
}
