import { backfillProgress, type Connection, formatInstant, type Reading, type SyncResult } from "@bg-ingest/domain"
import type { DateTime } from "effect"
import type { ConnectionJson, ReadingJson, SyncResultJson } from "../api/Json.ts"

const instantOrNull = (instant: DateTime.Utc | null) => (instant === null ? null : formatInstant(instant))

export const toReadingJson = (reading: Reading): ReadingJson => ({
  timestamp: formatInstant(reading.timestamp),
  glucose_mg_dl: reading.glucoseMgDl,
  trend: reading.trend,
  trend_rate: reading.trendRate,
  status: reading.status,
  source: reading.source.provider
})

export const toConnectionJson = (connection: Connection): ConnectionJson => ({
  provider: connection.provider,
  status: connection.status,
  last_sync_at: instantOrNull(connection.lastSyncAt),
  last_reading_at: instantOrNull(connection.lastReadingAt),
  last_error: connection.lastError,
  next_poll_at: instantOrNull(connection.nextPollAt),
  synced_through: instantOrNull(connection.syncedThrough),
  backfill_from: formatInstant(connection.backfillFrom),
  backfill_complete: backfillProgress(connection).complete,
  backfill_progress: Math.round(backfillProgress(connection).fraction * 1000) / 1000,
  consecutive_failures: connection.consecutiveFailures,
  created_at: formatInstant(connection.createdAt)
})

export const toSyncResultJson = (result: SyncResult): SyncResultJson => ({
  provider: result.provider,
  fetched: result.fetched,
  windows: result.windows,
  received: result.received,
  inserted: result.inserted,
  updated: result.updated,
  unchanged: result.unchanged,
  skipped_without_value: result.skippedWithoutValue,
  rejected: result.rejected,
  synced_through: formatInstant(result.syncedThrough),
  last_reading_at: instantOrNull(result.lastReadingAt),
  next_poll_at: formatInstant(result.nextPollAt)
})
