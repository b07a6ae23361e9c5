import {
  type Connection,
  type ConnectionStatus,
  makeReading,
  ProviderId,
  type Reading,
  type ReadingInput,
  UserId
} from "@bg-ingest/domain"
import { DateTime } from "effect"

export const T0 = DateTime.makeUnsafe("2026-02-01T08:00:00Z")

export const at = (minutesAfterT0: number): DateTime.Utc => DateTime.add(T0, { minutes: minutesAfterT0 })

export const user = (id: string): UserId => UserId.make(id)

export const TEST_PROVIDER = ProviderId.make("test")

/** A reading of `userId`, `minutes` after T0, with the given value and overrides. */
export const reading = (
  userId: string,
  minutes: number,
  glucoseMgDl: number,
  overrides: Partial<ReadingInput> = {}
): Reading =>
  makeReading({
    userId: UserId.make(userId),
    timestamp: at(minutes),
    glucoseMgDl,
    trend: "flat",
    trendRate: 0.1,
    status: "ok",
    source: { provider: TEST_PROVIDER, recordId: `rec-${userId}-${minutes}` },
    displayTime: null,
    ...overrides
  })

/** Readings every 5 minutes from T0, values produced by `value(index)`. */
export const series = (userId: string, count: number, value: (index: number) => number = (i) => 100 + (i % 50)) =>
  Array.from({ length: count }, (_, index) => reading(userId, index * 5, value(index)))

export const connection = (
  userId: string,
  provider: string,
  overrides: Partial<Connection> & { readonly status?: ConnectionStatus } = {}
): Connection => ({
  userId: UserId.make(userId),
  provider: ProviderId.make(provider),
  status: "active",
  credentials: null,
  backfillFrom: DateTime.subtract(T0, { days: 1 }),
  syncedThrough: null,
  lastSyncAt: null,
  lastReadingAt: null,
  changesSince: null,
  lastError: null,
  nextPollAt: T0,
  consecutiveFailures: 0,
  createdAt: T0,
  updatedAt: T0,
  ...overrides
})

/** Compares readings by value (DateTime instances compare by instant). */
export const plain = (readings: ReadonlyArray<Reading>) =>
  readings.map((r) => ({ ...r, timestamp: DateTime.toEpochMillis(r.timestamp) }))
