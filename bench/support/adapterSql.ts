import type { DatabaseSync } from "node:sqlite"
import { CONFIRM_READING, UPSERT_READING } from "@bg-ingest/adapters/sqlite"
import { INGEST_PIECE, type Reading, readingEpochSeconds } from "@bg-ingest/domain"

/**
 * The SQLite adapter's own write statements, run bare: what storing a batch costs in SQL alone (an upsert that says
 * what changed, then a confirmation per reading once its event is published), without Effect, the domain or events.
 */
/**
 * Stores and confirms `batch` as the adapter does when `Ingest` calls it: in Ingest's pieces (`INGEST_PIECE`, so that
 * one large upload does not hold the event loop), each two transactions, one statement per reading in each.
 */
export const makeAdapterSqlWriter = (db: DatabaseSync) => {
  const upsert = db.prepare(UPSERT_READING)
  const confirm = db.prepare(CONFIRM_READING)
  const writePiece = (batch: ReadonlyArray<Reading>) => {
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
  return (batch: ReadonlyArray<Reading>) => {
    for (let start = 0; start === 0 || start < batch.length; start += INGEST_PIECE) {
      writePiece(batch.slice(start, start + INGEST_PIECE))
    }
  }
}
