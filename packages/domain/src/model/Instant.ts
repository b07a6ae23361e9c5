import { DateTime, Duration, Effect, Result, Schema, SchemaIssue, SchemaTransformation } from "effect"

/**
 * The instants the service holds: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z. Every store orders them, every
 * contract formats them as four-digit years, and no CGM reading predates 1970: anything outside is refused at the
 * boundary, so that one odd value can never stop a sweep, an encoding or a query for everyone else.
 */
export const EARLIEST_INSTANT_MILLIS = 0
export const LATEST_INSTANT_MILLIS = 253_402_300_799_999

/** How far ahead of the service's clock a reading may be: device clocks drift, but a reading is not a forecast. */
export const READING_MAX_FUTURE = Duration.minutes(10)

export const isHoldableInstant = (epochMillis: number): boolean =>
  epochMillis >= EARLIEST_INSTANT_MILLIS && epochMillis <= LATEST_INSTANT_MILLIS

const HOLDABLE = "a time from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z once its offset is applied"

// date "T" time fraction? zone. RFC 3339 lets `T` and `Z` be lower case and applications use a space for `T`.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/

const isLeapYear = (year: number) => (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

/**
 * Parses an RFC 3339 date-time with a zone to epoch milliseconds (digits past the millisecond are dropped).
 * Strict: the date must exist (no February 30), hours run to 23 (no 24:00), seconds to 59 (a leap second cannot
 * be told apart from the next second's start, so `:60` is refused rather than guessed), an offset is at most
 * ±23:59, and the instant must be one the service holds (1970–9999 after the offset). Fails with the reason.
 */
export const parseRfc3339 = (text: string): Result.Result<number, string> => {
  const match = RFC3339.exec(text)
  if (match === null) return Result.fail("not an RFC 3339 date-time with a zone (YYYY-MM-DDThh:mm:ss[.fff]Z or ±hh:mm)")
  const year = Number(match[1])
  const month = Number(match[2])
  const day = Number(match[3])
  const hour = Number(match[4])
  const minute = Number(match[5])
  const second = Number(match[6])
  if (month < 1 || month > 12) return Result.fail(`month ${match[2]} does not exist`)
  const monthDays = month === 2 && isLeapYear(year) ? 29 : MONTH_DAYS[month - 1]!
  if (day < 1 || day > monthDays) return Result.fail(`day ${match[3]} does not exist in ${match[1]}-${match[2]}`)
  if (hour > 23) return Result.fail(`hour ${match[4]} does not exist (00–23)`)
  if (minute > 59) return Result.fail(`minute ${match[5]} does not exist (00–59)`)
  if (second > 59) return Result.fail(`second ${match[6]} is not supported (00–59)`)
  let offsetMinutes = 0
  if (match[8] === undefined) {
    const offsetHours = Number(match[10])
    const offsetMinute = Number(match[11])
    if (offsetHours > 23 || offsetMinute > 59)
      return Result.fail(`offset ${match[9]}${match[10]}:${match[11]} is not ±00:00 to ±23:59`)
    offsetMinutes = (match[9] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinute)
  }
  const millisOfSecond = match[7] === undefined ? 0 : Number(match[7].slice(0, 3).padEnd(3, "0"))
  // Date.UTC reads the years 0–99 as 1900–1999; setting the full year afterwards does not.
  const civil = new Date(Date.UTC(2000, 0, 1, hour, minute, second, millisOfSecond))
  civil.setUTCFullYear(year, month - 1, day)
  const epochMillis = civil.getTime() - offsetMinutes * 60_000
  if (!isHoldableInstant(epochMillis)) return Result.fail(`outside the years the service holds: expected ${HOLDABLE}`)
  return Result.succeed(epochMillis)
}

const EXPECTED = "an RFC 3339 time with a zone, such as 2025-04-26T14:30:00Z or 2025-04-26T16:30:00+02:00"

/**
 * An RFC 3339 instant with a zone, strictly parsed (`parseRfc3339`), decoded to UTC with millisecond precision.
 * Shared by every boundary that takes a time as text: query parameters, webhook bodies, uploads.
 */
export const Rfc3339Instant = Schema.String.annotate({
  description: "An RFC 3339 instant with a zone (Z or ±hh:mm), 1970–9999, e.g. 2025-04-26T14:30:00Z",
  format: "date-time"
}).pipe(
  Schema.decodeTo(
    Schema.DateTimeUtc,
    SchemaTransformation.transformEffect({
      decode: (text, options) =>
        Result.match(parseRfc3339(text), {
          onSuccess: (millis) => Effect.succeed(DateTime.makeUnsafe(millis)),
          onFailure: (reason) =>
            Effect.fail(new SchemaIssue.InvalidValue({ message: `Expected ${EXPECTED}: ${reason}` }, text, options))
        }),
      encode: (instant) => Effect.succeed(DateTime.formatIso(instant))
    })
  )
)

/**
 * The domain rule every reading's instant obeys, whatever brought it (a provider, the webhook, an upload): a real
 * time in 1970–9999 and no more than `READING_MAX_FUTURE` ahead of `nowMillis` (a reading dated 2099 would pin
 * "latest" forever). Answers why an instant breaks it, or undefined when it does not.
 */
export const readingInstantProblem = (instant: DateTime.Utc, nowMillis: number): string | undefined =>
  readingMillisProblem(DateTime.toEpochMillis(instant), nowMillis)

/** {@link readingInstantProblem} for an instant in epoch milliseconds (any number, even one no date can hold). */
export const readingMillisProblem = (epochMillis: number, nowMillis: number): string | undefined => {
  if (!isHoldableInstant(epochMillis)) return `must be ${HOLDABLE}`
  if (epochMillis > nowMillis + Duration.toMillis(READING_MAX_FUTURE)) {
    return `must not be more than ${Duration.format(READING_MAX_FUTURE)} in the future`
  }
  return undefined
}

/** `readingInstantProblem` as a schema issue (for a boundary that reports a path), or undefined. */
export const readingInstantIssue = (instant: DateTime.Utc, nowMillis: number): SchemaIssue.Issue | undefined => {
  const problem = readingInstantProblem(instant, nowMillis)
  return problem === undefined
    ? undefined
    : new SchemaIssue.InvalidValue({ message: `A reading's time ${problem}` }, DateTime.formatIso(instant))
}
