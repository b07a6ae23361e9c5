import {
  GlucoseMgDl,
  type GlucoseStatus,
  makeReading,
  type ProviderId,
  type Reading,
  type TimeWindow,
  type Trend,
  type UserId,
  windowContains
} from "@bg-ingest/domain"
import { DateTime, Option, Result, Schema } from "effect"
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

/** A reading, and whether it came from the history (the sensor's record, without a trend) or the current reading. */
export interface LibreReading {
  readonly reading: Reading
  readonly source: "history" | "current"
}

export interface RejectedLibreItem {
  readonly instant: string
  readonly reason: string
}

export interface NormalizedLibreGraph {
  /** One reading per sensor measurement, inside the window, oldest first. */
  readonly readings: ReadonlyArray<LibreReading>
  readonly skippedWithoutValue: number
  readonly rejected: ReadonlyArray<RejectedLibreItem>
}

const isGlucose = Schema.is(GlucoseMgDl)

const millisOf = (reading: Reading) => DateTime.toEpochMillis(reading.timestamp)

/** Orders two records of one kind at one instant whatever order they came in (the higher value, then the rest). */
const preference = (reading: Reading) =>
  `${String(reading.glucoseMgDl).padStart(3, "0")}|${reading.trend}|${reading.displayTime ?? ""}`

/**
 * One measurement from two records of it: kept at `at` (an instant already stored, or the current reading's),
 * with the history's value and status (the sensor's record) and the current reading's trend (history has none).
 */
export const mergeMeasurement = (a: LibreReading, b: LibreReading, at: Reading): LibreReading => {
  const history = a.source === "history" ? a : b.source === "history" ? b : undefined
  const current = a.source === "current" ? a : b.source === "current" ? b : undefined
  const value = history ?? (preference(a.reading) >= preference(b.reading) ? a : b)
  const trend = current?.reading.trend ?? (at.trend !== "none" ? at.trend : value.reading.trend)
  return {
    source: current === undefined ? "history" : "current",
    reading: {
      ...at,
      glucoseMgDl: value.reading.glucoseMgDl,
      status: value.reading.status,
      trend
    }
  }
}

/**
 * A LibreLinkUp graph answer → readings. Each decision:
 * - the instant is `FactoryTimestamp`, read as UTC (never the machine's zone); `Timestamp`, the phone's local time,
 *   only gives the display time's offset, so a DST change on the phone shifts nothing;
 * - the value is `ValueInMgPerDl` (mg/dL whatever the patient's unit), rounded to an integer; an item without one
 *   is counted as without value; one outside 20–600 mg/dL is rejected (counted, logged, never stored);
 * - history points have no trend (`none`, never invented); the current reading's `TrendArrow` gives its arrow
 *   (0 or absent: `notComputable`); no rate is derived from either;
 * - `isHigh` / `isLow` become status `high` / `low`;
 * - `glucoseItem` repeats `glucoseMeasurement`, and records at one instant are one reading (the history's value,
 *   the current reading's trend); the current reading and a history point less than 20 s apart are one sensor
 *   measurement too, kept at the current reading's instant (it is the one seen first, 15–20 minutes earlier).
 * Fails (with the reason) when a `FactoryTimestamp` cannot be read, which would make every instant suspect.
 */
export const normalizeLibreGraph = (
  provider: ProviderId,
  userId: UserId,
  graph: LibreGraph,
  window: TimeWindow
): Result.Result<NormalizedLibreGraph, string> => {
  const currents = [graph.connection?.glucoseMeasurement, graph.connection?.glucoseItem].filter(
    (item): item is LibreGlucoseItem => item !== null && item !== undefined
  )
  const items: ReadonlyArray<readonly [LibreGlucoseItem, LibreReading["source"]]> = [
    ...(graph.graphData ?? []).map((item) => [item, "history"] as const),
    ...currents.map((item) => [item, "current"] as const)
  ]
  const withoutValue = new Set<number>()
  const rejected = new Map<number, RejectedLibreItem>()
  const byInstant = new Map<number, LibreReading>()
  for (const [item, source] of items) {
    const factory = parseLibreTime(item.FactoryTimestamp)
    if (Option.isNone(factory)) {
      return Result.fail(`an item has an unreadable FactoryTimestamp "${item.FactoryTimestamp.slice(0, 40)}"`)
    }
    const instant = DateTime.makeUnsafe(factory.value)
    if (!windowContains(window, instant)) continue
    const value = item.ValueInMgPerDl
    if (value === null || value === undefined) {
      withoutValue.add(factory.value)
      continue
    }
    const glucoseMgDl = Math.round(value)
    if (!isGlucose(glucoseMgDl)) {
      rejected.set(factory.value, { instant: DateTime.formatIso(instant), reason: "value outside 20–600 mg/dL" })
      continue
    }
    const local =
      item.Timestamp === null || item.Timestamp === undefined ? Option.none() : parseLibreTime(item.Timestamp)
    const reading: LibreReading = {
      source,
      reading: makeReading({
        userId,
        timestamp: instant,
        glucoseMgDl,
        trend: source === "history" ? "none" : libreTrend(item.TrendArrow),
        trendRate: null,
        status: libreStatus(item),
        source: { provider, recordId: null },
        displayTime: Option.match(local, {
          onNone: () => null,
          onSome: (wall) => libreDisplayTime(factory.value, wall)
        })
      })
    }
    const existing = byInstant.get(factory.value)
    if (existing === undefined) byInstant.set(factory.value, reading)
    else if (existing.source !== reading.source) {
      byInstant.set(factory.value, mergeMeasurement(existing, reading, existing.reading))
    } else if (preference(existing.reading) < preference(reading.reading)) byInstant.set(factory.value, reading)
  }
  // The current reading and the history point of the same sensor minute, when one answer holds both (the phone
  // was away, so the current reading stopped while the history caught up).
  for (const [currentAt, current] of [...byInstant.entries()].filter(([, r]) => r.source === "current")) {
    const twin = nearest(byInstant, currentAt, (candidate) => candidate.source === "history")
    if (twin === undefined) continue
    byInstant.delete(twin.at)
    byInstant.set(currentAt, mergeMeasurement(current, twin.value, current.reading))
  }
  const readings = [...byInstant.entries()].sort(([a], [b]) => a - b).map(([, reading]) => reading)
  const notRead = (at: number) => !byInstant.has(at)
  return Result.succeed({
    readings,
    skippedWithoutValue: [...withoutValue].filter(notRead).length,
    rejected: [...rejected.entries()].filter(([at]) => notRead(at)).map(([, item]) => item)
  })
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
    const twin = storedAt.has(at) ? undefined : nearest(storedAt, at, () => true)
    let target: LibreReading = candidate
    let targetAt = at
    if (twin !== undefined) {
      if (!windowContains(window, twin.value.timestamp)) continue
      const previous: LibreReading = {
        source: twin.value.trend === "none" ? "history" : "current",
        reading: twin.value
      }
      target = mergeMeasurement(candidate, previous, twin.value)
      targetAt = twin.at
    }
    const already = placed.get(targetAt)
    placed.set(targetAt, already === undefined ? target : mergeMeasurement(already, target, already.reading))
  }
  return [...placed.entries()].sort(([a], [b]) => a - b).map(([, reading]) => reading.reading)
}
