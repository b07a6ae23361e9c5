import type { DatabaseSync } from "node:sqlite"
import { CONFIRM_READING, UPSERT_READING } from "@bg-ingest/adapters/sqlite"
import { type Reading, readingEpochSeconds } from "@bg-ingest/domain"

/**
 * The SQLite adapter's own write statements, run bare: what storing a batch costs in SQL alone (an upsert that says
 * what changed, then a confirmation per reading once its event is published), without Effect, the domain or events.
 */
/** Stores and confirms `batch` as the adapter does: two transactions, one statement per reading in each. */
export const makeAdapterSqlWriter = (db: DatabaseSync) => {
  const upsert = db.prepare(UPSERT_READING)
  const confirm = db.prepare(CONFIRM_READING)
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
