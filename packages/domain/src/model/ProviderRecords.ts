import { DateTime, Effect, type Order, Result, Schema } from "effect"
import { GLUCOSE_MG_DL_MAX, GLUCOSE_MG_DL_MIN, GlucoseMgDl, type GlucoseStatus, type Trend } from "./Glucose.ts"
import type { ProviderId, UserId } from "./Identifiers.ts"
import { isHoldableInstant } from "./Instant.ts"
import { makeReading, type Reading } from "./Reading.ts"
import { type TimeWindow, windowContains } from "./TimeWindow.ts"

/**
 * What one record of a provider's answer says, as that provider's adapter reads it. The adapter knows its format
 * (field names, units, time syntax, trend codes); everything after that — the window, one reading per instant,
 * counting records without a value, refusing impossible values — is the same for every provider and done by
 * {@link normalizeRecords}.
 */
export type RecordReading = RecordMeasurement | RecordWithoutValue | RecordUnreadable

/** A record with a glucose value. */
export interface RecordMeasurement {
  readonly _tag: "Measurement"
  /** When it was measured, on the provider's system clock; kept when it falls in the window. */
  readonly instant: DateTime.Utc
  /** In mg/dL, converted by the adapter; rounded to an integer here, and refused outside the glucose range. */
  readonly mgDl: number
  readonly trend: Trend
  /** mg/dL per minute, when the provider gives one. */
  readonly trendRate: number | null
  readonly status: GlucoseStatus
  readonly recordId: string | null
  /** The time the user's display device showed, verbatim. */
  readonly displayTime: string | null
}

/** A record at an instant with no glucose value (sensor warming up, signal lost, a receiver's special code). */
export interface RecordWithoutValue {
  readonly _tag: "WithoutValue"
  readonly instant: DateTime.Utc
}

/** A record that cannot be read at all (an unreadable time, an unknown unit): the whole answer is suspect. */
export interface RecordUnreadable {
  readonly _tag: "Unreadable"
  readonly reason: string
}

export const RecordReading = {
  measurement: (fields: Omit<RecordMeasurement, "_tag">): RecordMeasurement => ({ _tag: "Measurement", ...fields }),
  withoutValue: (instant: DateTime.Utc): RecordWithoutValue => ({ _tag: "WithoutValue", instant }),
  unreadable: (reason: string): RecordUnreadable => ({ _tag: "Unreadable", reason })
} as const

/** A record whose value the domain refuses. Its value is not kept, so it can be logged. */
export interface RejectedRecord {
  readonly recordId: string | null
  /** The instant, ISO 8601. */
  readonly instant: string
  readonly reason: string
}

export interface NormalizedRecords {
  /** One reading per instant (whole seconds), inside the window, oldest first. */
  readonly readings: ReadonlyArray<Reading>
  /** Instants inside the window that had records without a value and no reading. */
  readonly skippedWithoutValue: number
  /** Records inside the window with an impossible value, one per instant that has no reading. */
  readonly rejected: ReadonlyArray<RejectedRecord>
}

export interface NormalizeOptions<R> {
  readonly provider: ProviderId
  readonly userId: UserId
  /** Records outside it are dropped. */
  readonly window: TimeWindow
  /** The provider's reading of one record. */
  readonly read: (record: R) => RecordReading
  /**
   * Which of two readings at one instant is kept: the greater (the first on a tie). A total order on what the
   * provider sends makes the answer independent of the order the records came in.
   */
  readonly prefer: Order.Order<Reading>
}

const isGlucose = Schema.is(GlucoseMgDl)
const OUTSIDE_RANGE = `value outside ${GLUCOSE_MG_DL_MIN}–${GLUCOSE_MG_DL_MAX} mg/dL`
const OUTSIDE_YEARS = "instant outside 1970–9999"

const secondOf = (instant: DateTime.Utc) => Math.floor(DateTime.toEpochMillis(instant) / 1000)

/**
 * A provider's records → readings, the same way for every provider: records outside the window are dropped; a
 * record whose instant is not a time of 1970–9999 is rejected (the domain's instant rule; the window keeps polls
 * within a day of now); a record without a value is counted, once per instant; a value outside the glucose range is rejected (counted and
 * reported, never stored); of several readings at one instant (whole seconds) the one `prefer` ranks highest is
 * kept; an instant with a reading is neither counted as skipped nor as rejected. Fails with the reason when a
 * record cannot be read at all, even outside the window: it makes every other record of the answer suspect.
 */
export const normalizeRecords = <R>(
  records: Iterable<R>,
  options: NormalizeOptions<R>
): Result.Result<NormalizedRecords, string> => {
  // Providers repeat records within an answer: each instant is counted once.
  const withoutValue = new Set<number>()
  const rejected = new Map<number, RejectedRecord>()
  const bySecond = new Map<number, Reading>()
  for (const record of records) {
    const read = options.read(record)
    if (read._tag === "Unreadable") return Result.fail(read.reason)
    if (!windowContains(options.window, read.instant)) continue
    const second = secondOf(read.instant)
    // The window keeps polls near now; a window as wide as a pushed body's still holds only real times.
    if (!isHoldableInstant(second * 1000)) {
      rejected.set(second, {
        recordId: read._tag === "Measurement" ? read.recordId : null,
        instant: DateTime.formatIso(read.instant),
        reason: OUTSIDE_YEARS
      })
      continue
    }
    if (read._tag === "WithoutValue") {
      withoutValue.add(second)
      continue
    }
    const glucoseMgDl = Math.round(read.mgDl)
    if (!isGlucose(glucoseMgDl)) {
      rejected.set(second, {
        recordId: read.recordId,
        instant: DateTime.formatIso(DateTime.makeUnsafe(second * 1000)),
        reason: OUTSIDE_RANGE
      })
      continue
    }
    const reading = makeReading({
      userId: options.userId,
      timestamp: read.instant,
      glucoseMgDl,
      trend: read.trend,
      trendRate: read.trendRate,
      status: read.status,
      source: { provider: options.provider, recordId: read.recordId },
      displayTime: read.displayTime
    })
    const existing = bySecond.get(second)
    if (existing === undefined || options.prefer(existing, reading) < 0) bySecond.set(second, reading)
  }
  const notRead = (second: number) => !bySecond.has(second)
  return Result.succeed({
    readings: [...bySecond.entries()].sort(([a], [b]) => a - b).map(([, reading]) => reading),
    skippedWithoutValue: [...withoutValue].filter(notRead).length,
    rejected: [...rejected.entries()].filter(([second]) => notRead(second)).map(([, record]) => record)
  })
}

/**
 * A provider's normalization as one function of its records: its record reader and its order, given to
 * {@link normalizeRecords}.
 */
export const recordNormalizer =
  <R>(read: (record: R) => RecordReading, prefer: Order.Order<Reading>) =>
  (
    provider: ProviderId,
    userId: UserId,
    records: Iterable<R>,
    window: TimeWindow
  ): Result.Result<NormalizedRecords, string> =>
    normalizeRecords(records, { provider, userId, window, read, prefer })

const MAX_REJECTED_LOGGED = 10

/**
 * What a provider's fetch answers (the `CgmProvider` port's `FetchedReadings`) for normalized records; rejected
 * records are logged with their ids, instants and reasons, never their values.
 */
export const fetchedFromRecords = Effect.fnUntraced(function* (
  provider: ProviderId,
  userId: UserId,
  normalized: NormalizedRecords
) {
  const { readings, skippedWithoutValue, rejected } = normalized
  if (rejected.length > 0) {
    yield* Effect.logWarning("Provider records rejected").pipe(
      Effect.annotateLogs({
        provider,
        userId,
        count: rejected.length,
        records: rejected
          .slice(0, MAX_REJECTED_LOGGED)
          .map(({ recordId, instant, reason }) => `${recordId === null ? "" : `${recordId}@`}${instant}: ${reason}`)
      })
    )
  }
  return { readings, skippedWithoutValue, rejected: rejected.length }
})
