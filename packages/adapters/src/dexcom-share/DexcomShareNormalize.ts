import {
  GlucoseMgDl,
  type GlucoseStatus,
  makeReading,
  type ProviderId,
  type Reading,
  type TimeWindow,
  type Trend,
  Trends,
  type UserId,
  windowContains
} from "@bg-ingest/domain"
import { DateTime, Option, Result, Schema } from "effect"
import type { ShareGlucoseValue } from "./DexcomShareSchemas.ts"
import { formatShareDisplayTime, parseShareDate } from "./DexcomShareTime.ts"

/** Share's trend numbers (old servers), in the order of the names current servers send. */
export const SHARE_TRENDS_BY_NUMBER: ReadonlyArray<Trend> = [
  "none",
  "doubleUp",
  "singleUp",
  "fortyFiveUp",
  "flat",
  "fortyFiveDown",
  "singleDown",
  "doubleDown",
  "notComputable",
  "rateOutOfRange"
]

const trendByName = new Map<string, Trend>(Trends.map((trend) => [trend.toLowerCase(), trend]))

/** A trend name (any case) or number 0–9; anything else is `unknown`. */
export const shareTrend = (trend: string | number | null | undefined): Trend => {
  if (trend === null || trend === undefined) return "unknown"
  if (typeof trend === "number") return SHARE_TRENDS_BY_NUMBER[trend] ?? "unknown"
  const text = trend.trim()
  if (/^\d$/.test(text)) return SHARE_TRENDS_BY_NUMBER[Number(text)] ?? "unknown"
  return trendByName.get(text.toLowerCase()) ?? "unknown"
}

/** The G6/G7 sensors report 40–400 mg/dL: a value at a limit means "at or beyond it", as the API's high/low. */
export const SHARE_SENSOR_LOW = 40
export const SHARE_SENSOR_HIGH = 400

/**
 * Values below 13 are the receivers' special codes (sensor not active, no antenna, ...), never glucose: Share
 * does not send them, but one that slipped through is a record without a value, not an impossible glucose.
 */
const SPECIAL_CODE_LIMIT = 13

export const shareStatus = (glucoseMgDl: number): GlucoseStatus =>
  glucoseMgDl <= SHARE_SENSOR_LOW ? "low" : glucoseMgDl >= SHARE_SENSOR_HIGH ? "high" : "ok"

export interface RejectedShareValue {
  readonly instant: string
  readonly reason: string
}

export interface NormalizedShareValues {
  /** One reading per instant, inside the window, oldest first. */
  readonly readings: ReadonlyArray<Reading>
  readonly skippedWithoutValue: number
  readonly rejected: ReadonlyArray<RejectedShareValue>
}

const isGlucose = Schema.is(GlucoseMgDl)

/** Orders two values at one instant whatever order they came in: the higher value, then the later-sorting rest. */
const preference = (reading: Reading) =>
  `${String(reading.glucoseMgDl).padStart(3, "0")}|${reading.trend}|${reading.displayTime ?? ""}`

/**
 * Share glucose values → readings: `WT` is the instant (`Date(ms)` or `/Date(ms)/`, an offset changes nothing);
 * values are mg/dL, rounded to an integer; values at the sensor's limits (≤ 40, ≥ 400) are kept with status `low`
 * or `high`, since Share has no status field; values without a number, or a receiver's special code, are counted
 * as without value; values outside 20–600 mg/dL are rejected (counted, logged, never stored); trends come as
 * names or numbers; `DT` becomes the display time with its offset. Share has no record id: a reading's identity is
 * its instant, and of two values at one instant the higher is kept (then the one whose trend and display time sort last), so
 * the answer does not depend on their order.
 * Fails (with the reason) when a `WT` cannot be read, which would make every instant suspect.
 */
export const normalizeShareValues = (
  provider: ProviderId,
  userId: UserId,
  values: ReadonlyArray<ShareGlucoseValue>,
  window: TimeWindow
): Result.Result<NormalizedShareValues, string> => {
  const withoutValue = new Set<number>()
  const rejected = new Map<number, RejectedShareValue>()
  const byInstant = new Map<number, Reading>()
  for (const value of values) {
    const wt = parseShareDate(value.WT)
    if (Option.isNone(wt)) return Result.fail(`a value has an unreadable WT "${value.WT.slice(0, 40)}"`)
    const instant = DateTime.makeUnsafe(Math.floor(wt.value.epochMillis / 1000) * 1000)
    if (!windowContains(window, instant)) continue
    const instantMillis = DateTime.toEpochMillis(instant)
    if (value.Value === null || value.Value === undefined || (value.Value >= 0 && value.Value < SPECIAL_CODE_LIMIT)) {
      withoutValue.add(instantMillis)
      continue
    }
    const glucoseMgDl = Math.round(value.Value)
    if (!isGlucose(glucoseMgDl)) {
      rejected.set(instantMillis, { instant: DateTime.formatIso(instant), reason: "value outside 20–600 mg/dL" })
      continue
    }
    const dt = value.DT === null || value.DT === undefined ? Option.none() : parseShareDate(value.DT)
    const reading = makeReading({
      userId,
      timestamp: instant,
      glucoseMgDl,
      trend: shareTrend(value.Trend),
      trendRate: null,
      status: shareStatus(glucoseMgDl),
      source: { provider, recordId: null },
      displayTime: Option.match(dt, { onNone: () => null, onSome: formatShareDisplayTime })
    })
    const existing = byInstant.get(instantMillis)
    if (existing === undefined || preference(existing) < preference(reading)) byInstant.set(instantMillis, reading)
  }
  const readings = [...byInstant.entries()].sort(([a], [b]) => a - b).map(([, reading]) => reading)
  const notRead = (instantMillis: number) => !byInstant.has(instantMillis)
  return Result.succeed({
    readings,
    skippedWithoutValue: [...withoutValue].filter(notRead).length,
    rejected: [...rejected.entries()].filter(([at]) => notRead(at)).map(([, value]) => value)
  })
}
