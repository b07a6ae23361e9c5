import { DateTime, Option, Result, Schema, SchemaIssue } from "effect"
import { GLUCOSE_MG_DL_MAX, type GlucoseStatus, TRENDS_BY_NUMBER, type Trend, trendFromNumber } from "./Glucose.ts"
import type { ProviderId, UserId } from "./Identifiers.ts"
import { readingMillisProblem } from "./Instant.ts"
import { makeReading, type Reading } from "./Reading.ts"

/**
 * Nightscout's entries (its REST API v1) as bg-ingest reads and serves them: which entries are readings, their
 * instant, their trend. Shared by the Nightscout site every user has (uploads) and the `nightscout` provider
 * (a user's own site, polled), so both read an entry the same way.
 */

/** Dexcom's LOW: Nightscout shows 39 as LOW, and values below it are the receiver's error codes, not glucose. */
export const NIGHTSCOUT_LOW = 39
/** Nightscout shows anything above 400 as HIGH. */
export const NIGHTSCOUT_HIGH = 400

/** Nightscout's direction name and trend number of each bg-ingest trend. */
export const nightscoutTrends: Readonly<Record<Trend, { readonly direction: string; readonly trend: number }>> = {
  none: { direction: "NONE", trend: 0 },
  doubleUp: { direction: "DoubleUp", trend: 1 },
  singleUp: { direction: "SingleUp", trend: 2 },
  fortyFiveUp: { direction: "FortyFiveUp", trend: 3 },
  flat: { direction: "Flat", trend: 4 },
  fortyFiveDown: { direction: "FortyFiveDown", trend: 5 },
  singleDown: { direction: "SingleDown", trend: 6 },
  doubleDown: { direction: "DoubleDown", trend: 7 },
  notComputable: { direction: "NOT COMPUTABLE", trend: 8 },
  rateOutOfRange: { direction: "RATE OUT OF RANGE", trend: 9 },
  // Nightscout's own fallback for a direction it does not know.
  unknown: { direction: "NOT COMPUTABLE", trend: 8 }
}

const squeeze = (text: string) => text.replace(/[\s_-]/g, "").toLowerCase()

const TRENDS_BY_DIRECTION = new Map<string, Trend>([
  ...TRENDS_BY_NUMBER.map((trend) => [squeeze(nightscoutTrends[trend].direction), trend] as const),
  // minimed-connect's arrows beyond Dexcom's.
  ["tripleup", "doubleUp"],
  ["tripledown", "doubleDown"]
])

/**
 * The trend of an entry: its `direction` (any case, spaces or none: the bridges write Share's `NotComputable` as
 * `NOT COMPUTABLE`), else its `trend` number 0–9, else `unknown`.
 */
export const trendOfEntry = (direction: unknown, trend: unknown): Trend => {
  if (typeof direction === "string") {
    const named = TRENDS_BY_DIRECTION.get(squeeze(direction))
    if (named !== undefined) return named
  }
  const number = typeof trend === "number" ? trend : typeof trend === "string" ? Number(trend.trim()) : Number.NaN
  return Number.isInteger(number) ? trendFromNumber(number) : "unknown"
}

/** `low` at Nightscout's LOW, `high` above its HIGH, as the sensor limits they stand for. */
export const statusOfSgv = (sgv: number): GlucoseStatus =>
  sgv <= NIGHTSCOUT_LOW ? "low" : sgv > NIGHTSCOUT_HIGH ? "high" : "ok"

// ISO 8601 as Nightscout's clients write it: `Z`, `±hh:mm`, `±hhmm` (xDrip+) or no zone (read as UTC).
const ISO =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?\s*([Zz]|[+-]\d{2}:?\d{2})?$/

export interface NightscoutTime {
  readonly epochMillis: number
  /** The offset the text carried, in minutes; null when it had none. */
  readonly offsetMinutes: number | null
}

/** A `dateString` or `sysTime`, or none when it is not a real calendar time. */
export const parseNightscoutTime = (text: string): Option.Option<NightscoutTime> => {
  const match = ISO.exec(text.trim())
  if (match === null) return Option.none()
  const [, year, month, day, hour = "00", minute = "00", second = "00", fraction = "", zone] = match
  const parts = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number]
  const [y, mo, d, h, mi, s] = parts
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 59) return Option.none()
  // Date.UTC reads the years 0–99 as 1900–1999; setting the full year afterwards does not.
  const civil = new Date(Date.UTC(2000, 0, 1, h, mi, s, Number(fraction.padEnd(3, "0").slice(0, 3))))
  civil.setUTCFullYear(y, mo - 1, d)
  const utc = civil.getTime()
  // A day past the month's end rolls over into the next month: it is not a real date.
  if (civil.getUTCDate() !== d) return Option.none()
  let offsetMinutes: number | null = null
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const digits = zone.replace(":", "")
    const hours = Number(digits.slice(1, 3))
    const minutes = Number(digits.slice(3, 5))
    if (hours > 23 || minutes > 59) return Option.none()
    offsetMinutes = (digits.startsWith("-") ? -1 : 1) * (hours * 60 + minutes)
  } else if (zone !== undefined) {
    offsetMinutes = 0
  }
  return Option.some({ epochMillis: utc - (offsetMinutes ?? 0) * 60_000, offsetMinutes })
}

/** Why an entry that is a reading cannot be stored: the field (`sgv`, `date`, ...) and what is wrong with it. */
export interface EntryIssue {
  readonly field: string
  readonly message: string
}

export type EntryMeaning =
  | { readonly kind: "reading"; readonly reading: Reading }
  /** `not_sgv`: another type (`mbg`, `cal`, ...); `no_value`: no numeric `sgv`; `error_code`: below 39. */
  | { readonly kind: "skipped"; readonly reason: "not_sgv" | "no_value" | "error_code" }

const Kind = Schema.Struct({ type: Schema.optional(Schema.NullOr(Schema.Unknown)) })
const Text = Schema.optional(Schema.NullOr(Schema.String))
const NumberOrText = Schema.optional(Schema.NullOr(Schema.Union([Schema.Finite, Schema.String])))

/** The fields of an SGV entry bg-ingest reads; any others are ignored. */
export const SgvEntry = Schema.Struct({
  _id: Schema.optional(Schema.NullOr(Schema.Unknown)),
  sgv: Schema.optional(Schema.NullOr(Schema.Unknown)),
  date: NumberOrText,
  dateString: Text,
  sysTime: Text,
  direction: Schema.optional(Schema.NullOr(Schema.Unknown)),
  trend: Schema.optional(Schema.NullOr(Schema.Unknown)),
  device: Schema.optional(Schema.NullOr(Schema.Unknown))
})
const decodeKind = Schema.decodeUnknownOption(Kind)
const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()
const decodeSgvEntry = Schema.decodeUnknownResult(SgvEntry)

const NUMERIC = /^\s*-?\d+(?:\.\d+)?\s*$/

const numeric = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value)
    ? value
    : typeof value === "string" && NUMERIC.test(value)
      ? Number(value)
      : undefined

export interface EntryOptions {
  readonly userId: UserId
  readonly provider: ProviderId
  /** The clock, for the "not in the future" rule. */
  readonly nowMillis: number
  /** What the reading's record id is: the uploader's `device` (uploads), or the entry's `_id` (a polled site). */
  readonly recordId: "device" | "id"
}

const issue = (field: string, message: string) => Result.fail<EntryIssue>({ field, message })

/** The instant of an entry: `date` (ms) first, else `dateString`, else `sysTime`; whole seconds. */
const instantOf = (entry: typeof SgvEntry.Type, nowMillis: number): Result.Result<number, EntryIssue> => {
  let millis: number
  let field: string
  if (entry.date !== undefined && entry.date !== null) {
    field = "date"
    const value = numeric(entry.date)
    if (value === undefined) return issue(field, "Expected epoch milliseconds")
    millis = value
  } else {
    const text = entry.dateString ?? entry.sysTime
    field = entry.dateString !== undefined && entry.dateString !== null ? "dateString" : "sysTime"
    if (text === undefined || text === null) return issue("date", "An entry needs date (epoch ms) or dateString")
    const parsed = parseNightscoutTime(text)
    if (Option.isNone(parsed)) return issue(field, "Expected an ISO 8601 time such as 2026-11-27T15:44:00.000Z")
    millis = parsed.value.epochMillis
  }
  const seconds = Math.floor(millis / 1000) * 1000
  // The domain's rule for every reading's instant: 1970–9999, at most 10 minutes ahead (check the uploader's clock).
  const problem = readingMillisProblem(seconds, nowMillis)
  if (problem !== undefined) return issue(field, `The time ${problem}`)
  return Result.succeed(seconds)
}

const boundedText = (value: unknown, maxLength: number): string | null =>
  typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, maxLength) : null

/**
 * What one Nightscout entry is: a reading (type `sgv`, or no type but an `sgv`; `sgv` a number or numeric string
 * of at least 39, rounded to mg/dL), or something counted and skipped. A reading whose value or time the domain
 * cannot take is an issue naming the field, so that the caller can refuse it rather than store a wrong number.
 */
export const meaningOfEntry = (entry: unknown, options: EntryOptions): Result.Result<EntryMeaning, EntryIssue> => {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
    return issue("", "Expected an entry object")
  }
  const kind = decodeKind(entry)
  const type = Option.isSome(kind) ? kind.value.type : undefined
  const hasSgv = (entry as { readonly sgv?: unknown }).sgv !== undefined
  if (type === undefined || type === null ? !hasSgv : type !== "sgv") {
    return Result.succeed({ kind: "skipped", reason: "not_sgv" })
  }
  const decoded = decodeSgvEntry(entry)
  if (Result.isFailure(decoded)) {
    const [first] = formatIssues(decoded.failure.issue).issues
    const key = first?.path?.[0]
    return issue(String(typeof key === "object" ? key.key : (key ?? "")), first?.message ?? "Unreadable entry")
  }
  const fields = decoded.success
  const sgv = numeric(fields.sgv)
  if (sgv === undefined) return Result.succeed({ kind: "skipped", reason: "no_value" })
  const glucoseMgDl = Math.round(sgv)
  if (glucoseMgDl < NIGHTSCOUT_LOW) return Result.succeed({ kind: "skipped", reason: "error_code" })
  if (glucoseMgDl > GLUCOSE_MG_DL_MAX) {
    return issue("sgv", `Expected mg/dL from ${NIGHTSCOUT_LOW} to ${GLUCOSE_MG_DL_MAX} (a mmol/L value sent as mg/dL?)`)
  }
  const instant = instantOf(fields, options.nowMillis)
  if (Result.isFailure(instant)) return Result.fail(instant.failure)
  const dateString = boundedText(fields.dateString, 64)
  return Result.succeed({
    kind: "reading",
    reading: makeReading({
      userId: options.userId,
      timestamp: DateTime.makeUnsafe(instant.success),
      glucoseMgDl,
      trend: trendOfEntry(fields.direction, fields.trend),
      trendRate: null,
      status: statusOfSgv(glucoseMgDl),
      source: {
        provider: options.provider,
        recordId: boundedText(options.recordId === "device" ? fields.device : fields._id, 256)
      },
      displayTime: dateString !== null && Option.isSome(parseNightscoutTime(dateString)) ? dateString : null
    })
  })
}
