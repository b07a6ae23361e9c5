import { DateTime, Schema } from "effect"
import { GlucoseMgDl, GlucoseStatus, Trend } from "./Glucose.ts"
import { ProviderId, UserId } from "./Identifiers.ts"

/** Where a reading came from: the provider and, when it has one, the provider's own record id. */
export const ReadingSource = Schema.Struct({
  provider: ProviderId,
  recordId: Schema.NullOr(Schema.String)
})
export type ReadingSource = typeof ReadingSource.Type

/**
 * One glucose measurement of one user. Its identity is `(userId, timestamp)`; `timestamp` is the
 * provider's system time, a UTC instant in whole seconds.
 *
 * Readings are plain objects validated by a `Schema.Struct` (not class instances): a 90-day range is
 * 25,920 of them and the hot read paths build them per row.
 */
export const Reading = Schema.Struct({
  userId: UserId,
  timestamp: Schema.DateTimeUtc,
  glucoseMgDl: GlucoseMgDl,
  trend: Trend,
  /** mg/dL per minute, when the provider gives one. */
  trendRate: Schema.NullOr(Schema.Finite),
  status: GlucoseStatus,
  source: ReadingSource,
  /** The time the user saw on their display device, verbatim with its offset (which can be odd). */
  displayTime: Schema.NullOr(Schema.String)
})
export type Reading = typeof Reading.Type

/** Truncates an instant to whole seconds, the precision of reading identity. */
export const toWholeSeconds = (instant: DateTime.Utc): DateTime.Utc => {
  const millis = DateTime.toEpochMillis(instant)
  const truncated = millis - (((millis % 1000) + 1000) % 1000)
  return truncated === millis ? instant : DateTime.makeUnsafe(truncated)
}

export interface ReadingInput {
  readonly userId: UserId
  readonly timestamp: DateTime.Utc
  readonly glucoseMgDl: number
  readonly trend?: Trend | undefined
  readonly trendRate?: number | null | undefined
  readonly status?: GlucoseStatus | undefined
  readonly source: ReadingSource
  readonly displayTime?: string | null | undefined
}

/** Builds a reading with defaults, timestamp truncated to whole seconds. Values must already be valid. */
export const makeReading = (input: ReadingInput): Reading => ({
  userId: input.userId,
  timestamp: toWholeSeconds(input.timestamp),
  glucoseMgDl: input.glucoseMgDl,
  trend: input.trend ?? "unknown",
  trendRate: input.trendRate ?? null,
  status: input.status ?? "ok",
  source: input.source,
  displayTime: input.displayTime ?? null
})

/** Epoch seconds of a reading's timestamp: the second half of its identity. */
export const readingEpochSeconds = (reading: Reading): number =>
  Math.floor(DateTime.toEpochMillis(reading.timestamp) / 1000)

/** A string that is equal for two readings exactly when they have the same identity. */
export const readingKey = (reading: Reading): string => `${reading.userId}\u0000${readingEpochSeconds(reading)}`

/**
 * Whether two readings with the same identity carry the same measurement. The provider record id and the
 * display time are provenance, not measurement: a relay forwarding what the API also gave is not an update.
 */
export const sameMeasurement = (a: Reading, b: Reading): boolean =>
  a.glucoseMgDl === b.glucoseMgDl && a.trend === b.trend && a.trendRate === b.trendRate && a.status === b.status

/** Orders readings by time, oldest first. */
export const byTimestamp = (a: Reading, b: Reading): number =>
  DateTime.toEpochMillis(a.timestamp) - DateTime.toEpochMillis(b.timestamp)

const twoDigits = (value: number) => (value < 10 ? `0${value}` : `${value}`)

/** RFC 3339 UTC with `Z` and no fractional seconds, the API's one time format: `2025-04-26T14:30:00Z`. */
export const formatInstant = (instant: DateTime.Utc): string => {
  const millis = DateTime.toEpochMillis(instant)
  const seconds = Math.floor(millis / 1000)
  const days = Math.floor(seconds / 86_400)
  const secondOfDay = seconds - days * 86_400
  // The civil date of a day number (H. Hinnant, "chrono-compatible low-level date algorithms"): every reading a
  // range answers is formatted here, and this is about 3× faster than `Date#toISOString`, with the same output.
  const shifted = days + 719_468
  const era = Math.floor(shifted / 146_097)
  const dayOfEra = shifted - era * 146_097
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365
  )
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100))
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153)
  const day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
  if (year < 1000 || year > 9999) return `${new Date(millis).toISOString().slice(0, 19)}Z`
  const hour = Math.floor(secondOfDay / 3600)
  const minute = Math.floor((secondOfDay - hour * 3600) / 60)
  const second = secondOfDay - hour * 3600 - minute * 60
  return `${year}-${twoDigits(month)}-${twoDigits(day)}T${twoDigits(hour)}:${twoDigits(minute)}:${twoDigits(second)}Z`
}
