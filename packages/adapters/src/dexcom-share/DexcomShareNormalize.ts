import {
  type GlucoseStatus,
  type Reading,
  RecordReading,
  recordNormalizer,
  TRENDS_BY_NUMBER,
  type Trend,
  trendFromName,
  trendFromNumber
} from "@bg-ingest/domain"
import { DateTime, Option, Order } from "effect"
import type { ShareGlucoseValue } from "./DexcomShareSchemas.ts"
import { formatShareDisplayTime, parseShareDate } from "./DexcomShareTime.ts"

/** Share's trend numbers (old servers), in the order of the names current servers send: Dexcom's numbering. */
export const SHARE_TRENDS_BY_NUMBER: ReadonlyArray<Trend> = TRENDS_BY_NUMBER

/** A trend name (any case) or number 0–9; anything else is `unknown`. */
export const shareTrend = (trend: string | number | null | undefined): Trend => {
  if (trend === null || trend === undefined) return "unknown"
  if (typeof trend === "number") return trendFromNumber(trend)
  const text = trend.trim()
  if (/^\d$/.test(text)) return trendFromNumber(Number(text))
  return trendFromName(text)
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

/**
 * One Share glucose value: `WT` is the instant (`Date(ms)` or `/Date(ms)/`, an offset changes nothing), in whole
 * seconds; values are mg/dL; values at the sensor's limits (≤ 40, ≥ 400) get status `low` or `high`, since Share
 * has no status field; a value without a number, or a receiver's special code, is a record without a value;
 * trends come as names or numbers; `DT` becomes the display time with its offset. Share has no record id. An
 * unreadable `WT` makes the value unreadable.
 */
export const readShareValue = (value: ShareGlucoseValue): RecordReading => {
  const wt = parseShareDate(value.WT)
  if (Option.isNone(wt)) return RecordReading.unreadable(`a value has an unreadable WT "${value.WT.slice(0, 40)}"`)
  const instant = DateTime.makeUnsafe(Math.floor(wt.value.epochMillis / 1000) * 1000)
  if (value.Value === null || value.Value === undefined || (value.Value >= 0 && value.Value < SPECIAL_CODE_LIMIT)) {
    return RecordReading.withoutValue(instant)
  }
  const dt = value.DT === null || value.DT === undefined ? Option.none() : parseShareDate(value.DT)
  return RecordReading.measurement({
    instant,
    mgDl: value.Value,
    trend: shareTrend(value.Trend),
    trendRate: null,
    status: shareStatus(Math.round(value.Value)),
    recordId: null,
    displayTime: Option.match(dt, { onNone: () => null, onSome: formatShareDisplayTime })
  })
}

/**
 * Of two values at one instant, whatever order they came in: the higher value, then the one whose trend and
 * display time sort last.
 */
const preferred: Order.Order<Reading> = Order.mapInput(
  Order.String,
  (reading: Reading) => `${String(reading.glucoseMgDl).padStart(3, "0")}|${reading.trend}|${reading.displayTime ?? ""}`
)

/**
 * Share glucose values → readings, one per instant inside the window, oldest first (`normalizeRecords`). Fails
 * with the reason when a `WT` cannot be read, which would make every instant suspect.
 */
export const normalizeShareValues = recordNormalizer(readShareValue, preferred)
