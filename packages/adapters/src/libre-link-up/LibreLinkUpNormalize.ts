import {
  GlucoseMgDl,
  type GlucoseStatus,
  normalizeRecords,
  type ProviderId,
  type Reading,
  type RecordMeasurement,
  RecordReading,
  type RejectedRecord,
  type TimeWindow,
  type Trend,
  type UserId,
  windowContains
} from "@bg-ingest/domain"
import { DateTime, Option, Order, Result, Schema } from "effect"
import type { LibreGlucoseItem, LibreGraph } from "./LibreLinkUpSchemas.ts"
import { libreDisplayTime, parseLibreTime } from "./LibreLinkUpTime.ts"

/** LibreLinkUp's arrows, by `TrendArrow` (Libre has no double arrows). */
const LIBRE_TRENDS: Readonly<Record<number, Trend>> = {
  1: "singleDown",
  2: "fortyFiveDown",
  3: "flat",
  4: "fortyFiveUp",
  5: "singleUp"
}

/** The trend of a current reading: 1–5 are arrows, 0 or none means it could not be computed, the rest is unknown. */
export const libreTrend = (arrow: number | null | undefined): Trend => {
  if (arrow === null || arrow === undefined || arrow === 0) return "notComputable"
  return LIBRE_TRENDS[arrow] ?? "unknown"
}

/** `isHigh` / `isLow` mark a value beyond the sensor's range (shown HI / LO), clamped at the limit. */
export const libreStatus = (item: LibreGlucoseItem): GlucoseStatus =>
  item.isHigh === true ? "high" : item.isLow === true ? "low" : "ok"

/**
 * Two LibreLinkUp records less than this far apart are one sensor measurement: the current reading and the history
 * point the sensor records for the same minute land 0–2 s apart, while distinct measurements are a minute apart.
 */
export const SAME_MEASUREMENT_MILLIS = 20_000

/**
 * A reading, and whether it holds the history's record (the sensor's, without a trend: `none`) or the current
 * reading's (with its arrow, whatever its value came from). The trend tells them apart: a current reading's is
 * never `none`.
 */
export interface LibreReading {
  readonly reading: Reading
  readonly source: "history" | "current"
}

const sourceOf = (reading: Reading): LibreReading["source"] => (reading.trend === "none" ? "history" : "current")

export interface NormalizedLibreGraph {
  /** One reading per sensor measurement, inside the window, oldest first. */
  readonly readings: ReadonlyArray<LibreReading>
  readonly skippedWithoutValue: number
  readonly rejected: ReadonlyArray<RejectedRecord>
}

const isGlucose = Schema.is(GlucoseMgDl)

const millisOf = (reading: Reading) => DateTime.toEpochMillis(reading.timestamp)

/**
 * One glucose item: `FactoryTimestamp`, read as UTC (never the machine's zone), is the instant; `Timestamp`, the
 * phone's local time, only gives the display time's offset, so a DST change on the phone shifts nothing; the value
 * is `ValueInMgPerDl` (mg/dL whatever the patient's unit; `Value` is never used); a history point has no trend
 * (`none`, never invented), the current reading its `TrendArrow`; no rate is derived from either; `isHigh` /
 * `isLow` become status `high` / `low`.
 */
export const readLibreItem = (item: LibreGlucoseItem, kind: LibreReading["source"]): RecordReading => {
  const factory = parseLibreTime(item.FactoryTimestamp)
  if (Option.isNone(factory)) {
    return RecordReading.unreadable(
      `an item has an unreadable FactoryTimestamp "${item.FactoryTimestamp.slice(0, 40)}"`
    )
  }
  const instant = DateTime.makeUnsafe(factory.value)
  if (item.ValueInMgPerDl === null || item.ValueInMgPerDl === undefined) return RecordReading.withoutValue(instant)
  const local = item.Timestamp === null || item.Timestamp === undefined ? Option.none() : parseLibreTime(item.Timestamp)
  return RecordReading.measurement({
    instant,
    mgDl: item.ValueInMgPerDl,
    trend: kind === "history" ? "none" : libreTrend(item.TrendArrow),
    trendRate: null,
    status: libreStatus(item),
    recordId: null,
    displayTime: Option.match(local, { onNone: () => null, onSome: (wall) => libreDisplayTime(factory.value, wall) })
  })
}

/** Of two records at one instant, whatever order they came in: the higher value, then the trend and display time. */
const preferred: Order.Order<Reading> = Order.mapInput(
  Order.String,
  (reading: Reading) => `${String(reading.glucoseMgDl).padStart(3, "0")}|${reading.trend}|${reading.displayTime ?? ""}`
)

const instantMillis = (record: RecordMeasurement) => DateTime.toEpochMillis(record.instant)

/**
 * The current reading and the history point of its sensor minute, when one answer holds both (the phone was away,
 * so the current reading stopped while the history caught up): one record at the current reading's instant, with
 * the history's value and status (the sensor's record) and the current reading's arrow.
 */
const mergeTwins = (
  history: ReadonlyArray<RecordReading>,
  currents: ReadonlyArray<RecordReading>
): ReadonlyArray<RecordReading> => {
  const consumed = new Set<number>()
  const merged = currents.map((current) => {
    if (current._tag !== "Measurement") return current
    let twin: { readonly index: number; readonly record: RecordMeasurement; readonly distance: number } | undefined
    for (const [index, candidate] of history.entries()) {
      if (candidate._tag !== "Measurement" || !isGlucose(Math.round(candidate.mgDl))) continue
      const distance = Math.abs(instantMillis(candidate) - instantMillis(current))
      if (distance < SAME_MEASUREMENT_MILLIS && (twin === undefined || distance < twin.distance)) {
        twin = { index, record: candidate, distance }
      }
    }
    if (twin === undefined) return current
    // `glucoseItem` repeats `glucoseMeasurement`: both copies take the same twin.
    consumed.add(twin.index)
    return RecordReading.measurement({ ...current, mgDl: twin.record.mgDl, status: twin.record.status })
  })
  return [...history.filter((_, index) => !consumed.has(index)), ...merged]
}

/**
 * A LibreLinkUp graph answer → readings, through the domain's one normalization loop (window, one reading per
 * instant, counting items without a value, refusing impossible values): each item read by `readLibreItem`;
 * `glucoseItem` repeats `glucoseMeasurement`; the current reading and a history point less than 20 s apart are one
 * sensor measurement, kept at the current reading's instant (it is the one seen first, 15–20 minutes earlier).
 * Fails (with the reason) when a `FactoryTimestamp` cannot be read, which would make every instant suspect.
 */
export const normalizeLibreGraph = (
  provider: ProviderId,
  userId: UserId,
  graph: LibreGraph,
  window: TimeWindow
): Result.Result<NormalizedLibreGraph, string> => {
  const currents = [graph.connection?.glucoseMeasurement, graph.connection?.glucoseItem]
    .filter((item): item is LibreGlucoseItem => item !== null && item !== undefined)
    .map((item) => readLibreItem(item, "current"))
  const history = (graph.graphData ?? []).map((item) => readLibreItem(item, "history"))
  const records = mergeTwins(history, currents)
  return Result.map(
    normalizeRecords(records, { provider, userId, window, read: (record) => record, prefer: preferred }),
    (normalized) => ({
      readings: normalized.readings.map((reading) => ({ reading, source: sourceOf(reading) })),
      skippedWithoutValue: normalized.skippedWithoutValue,
      rejected: normalized.rejected
    })
  )
}

/**
 * One measurement from two records of it, kept at `at`'s instant: the history's value and status (the sensor's
 * record), else the newer record's; the current reading's trend (history has none), the newer one's if both have
 * one.
 */
export const mergeMeasurement = (newer: LibreReading, older: LibreReading, at: Reading): LibreReading => {
  const value = newer.source === "history" ? newer : older.source === "history" ? older : newer
  const current = newer.source === "current" ? newer : older.source === "current" ? older : undefined
  return {
    source: current === undefined ? "history" : "current",
    reading: {
      ...at,
      glucoseMgDl: value.reading.glucoseMgDl,
      status: value.reading.status,
      trend: current?.reading.trend ?? "none"
    }
  }
}

/** The entry nearest to `at` (but not at it), less than `SAME_MEASUREMENT_MILLIS` away, that `accept`s. */
const nearest = <A>(
  entries: ReadonlyMap<number, A>,
  at: number,
  accept: (value: A) => boolean
): { readonly at: number; readonly value: A } | undefined => {
  let best: { readonly at: number; readonly value: A } | undefined
  for (const [candidateAt, value] of entries) {
    const distance = Math.abs(candidateAt - at)
    if (distance === 0 || distance >= SAME_MEASUREMENT_MILLIS || !accept(value)) continue
    if (best === undefined || distance < Math.abs(best.at - at)) best = { at: candidateAt, value }
  }
  return best
}

/**
 * Places each reading on the instant a reading of the same sensor measurement was already stored at (less than 20 s
 * away), so that a measurement is stored once: the history point that arrives 15–20 minutes after the current
 * reading of its minute updates that stored reading (the history's value, the stored trend) instead of adding a
 * second reading a second away. A reading whose stored twin lies outside the window is dropped (it is stored).
 * `stored` are the provider's readings already stored around the window.
 */
export const reconcileWithStored = (
  readings: ReadonlyArray<LibreReading>,
  stored: ReadonlyArray<Reading>,
  window: TimeWindow
): ReadonlyArray<Reading> => {
  const storedAt = new Map(stored.map((reading) => [millisOf(reading), reading]))
  const placed = new Map<number, LibreReading>()
  for (const candidate of readings) {
    const at = millisOf(candidate.reading)
    const exact = storedAt.get(at)
    const twin = exact === undefined ? nearest(storedAt, at, () => true) : { at, value: exact }
    let target: LibreReading = candidate
    let targetAt = at
    if (twin !== undefined) {
      if (!windowContains(window, twin.value.timestamp)) continue
      const previous: LibreReading = { source: sourceOf(twin.value), reading: twin.value }
      target = mergeMeasurement(candidate, previous, twin.value)
      targetAt = twin.at
    }
    const already = placed.get(targetAt)
    placed.set(targetAt, already === undefined ? target : mergeMeasurement(target, already, already.reading))
  }
  return [...placed.entries()].sort(([a], [b]) => a - b).map(([, reading]) => reading.reading)
}
