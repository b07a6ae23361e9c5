import { DateTime } from "effect"
import type { Reading } from "../model/Reading.ts"
import type { TimeWindow } from "../model/TimeWindow.ts"
import type { TimeZoneName } from "../model/TimeZone.ts"
import { type AgpBin, agpBinOf, agpOf } from "./Agp.ts"
import { countHypoglycemiaEvents } from "./HypoglycemiaEvents.ts"
import { roundRatio, roundSqrtRatio } from "./Rounding.ts"
import { localSecondsCursor, zoneOffsets } from "./ZoneOffsets.ts"

/** The consensus ranges in integer mg/dL. */
export const GLUCOSE_RANGES = {
  veryLowBelow: 54,
  lowBelow: 70,
  targetAtMost: 180,
  highAtMost: 250,
  tightTargetAtMost: 140
} as const

/** Percentages of readings in each range, each rounded half up to one decimal. */
export interface TimeInRange {
  /** < 54 mg/dL */
  readonly veryLowPercent: number
  /** 54–69 mg/dL */
  readonly lowPercent: number
  /** 70–180 mg/dL */
  readonly targetPercent: number
  /** 181–250 mg/dL */
  readonly highPercent: number
  /** > 250 mg/dL */
  readonly veryHighPercent: number
  /** 70–140 mg/dL */
  readonly tightTargetPercent: number
}

/** How many readings fall in each range (the numerators of `TimeInRange`). */
export interface RangeCounts {
  readonly veryLow: number
  readonly low: number
  readonly target: number
  readonly high: number
  readonly veryHigh: number
  readonly tightTarget: number
}

export interface HypoglycemiaEvents {
  /** Events below 70 mg/dL. */
  readonly level1: number
  /** Events below 54 mg/dL. */
  readonly level2: number
}

/**
 * The consensus CGM metrics of one user's readings in `[from, to)`, each reading weighted equally. Every figure is
 * rounded half up from its exact value: percentages, mean, SD and CV to one decimal, GMI to two. Without readings
 * every figure is null; with one reading, the figures that need a gap (the interval, active time, events) or
 * two readings (SD, CV) are null.
 */
export interface GlycemicSummary {
  readonly from: DateTime.Utc
  readonly to: DateTime.Utc
  /** The IANA zone of the AGP's times of day, as given. */
  readonly timeZone: string
  readonly readings: number
  /** The most common gap between consecutive readings, in seconds (the smaller on a tie). */
  readonly intervalSeconds: number | null
  /** `100 · readings · interval / (to − from)`, at most 100. */
  readonly activePercent: number | null
  readonly meanMgDl: number | null
  /** The sample standard deviation (n − 1). */
  readonly sdMgDl: number | null
  /** `100 · sd / mean`. */
  readonly cvPercent: number | null
  /** `3.31 + 0.02392 · mean`. */
  readonly gmiPercent: number | null
  readonly timeInRange: TimeInRange | null
  readonly rangeCounts: RangeCounts | null
  readonly hypoglycemiaEvents: HypoglycemiaEvents | null
  /** The Ambulatory Glucose Profile: 15-minute bins of the local time of day, those without readings left out. */
  readonly agp: ReadonlyArray<AgpBin> | null
}

/** What the summary reads of a reading. */
export type GlucosePoint = Pick<Reading, "timestamp" | "glucoseMgDl">

/** One user's readings inside a window as parallel arrays, sorted by time (then value), in epoch seconds. */
export interface Series {
  readonly seconds: Float64Array
  readonly values: Float64Array
  readonly count: number
}

/** The readings in `[from, to)`, sorted by time whatever their order (already sorted costs one pass). */
export const seriesOf = (points: ReadonlyArray<GlucosePoint>, window: TimeWindow): Series => {
  const fromMillis = DateTime.toEpochMillis(window.from)
  const toMillis = DateTime.toEpochMillis(window.to)
  const seconds = new Float64Array(points.length)
  const values = new Float64Array(points.length)
  let count = 0
  let sorted = true
  for (const point of points) {
    const millis = DateTime.toEpochMillis(point.timestamp)
    if (millis < fromMillis || millis >= toMillis) continue
    const at = millis / 1000
    if (
      count > 0 &&
      (at < seconds[count - 1]! || (at === seconds[count - 1]! && point.glucoseMgDl < values[count - 1]!))
    )
      sorted = false
    seconds[count] = at
    values[count] = point.glucoseMgDl
    count++
  }
  if (sorted) return { seconds, values, count }
  const order = Array.from({ length: count }, (_, index) => index).sort(
    (a, b) => seconds[a]! - seconds[b]! || values[a]! - values[b]!
  )
  return {
    seconds: Float64Array.from(order, (index) => seconds[index]!),
    values: Float64Array.from(order, (index) => values[index]!),
    count
  }
}

/** The most common positive gap between consecutive instants (the smaller on a tie); null without one. */
export const mostCommonGap = (seconds: ArrayLike<number>, count: number): number | null => {
  const tally = new Map<number, number>()
  let best: number | null = null
  let bestCount = 0
  for (let i = 1; i < count; i++) {
    const gap = seconds[i]! - seconds[i - 1]!
    if (gap <= 0) continue
    const seen = (tally.get(gap) ?? 0) + 1
    tally.set(gap, seen)
    if (seen > bestCount || (seen === bestCount && gap < best!)) {
      best = gap
      bestCount = seen
    }
  }
  return best
}

const empty = (window: TimeWindow, timeZone: string): GlycemicSummary => ({
  from: window.from,
  to: window.to,
  timeZone,
  readings: 0,
  intervalSeconds: null,
  activePercent: null,
  meanMgDl: null,
  sdMgDl: null,
  cvPercent: null,
  gmiPercent: null,
  timeInRange: null,
  rangeCounts: null,
  hypoglycemiaEvents: null,
  agp: null
})

/**
 * The glycemic summary of `points` (whole mg/dL, as readings are) over `window`, with the AGP in the local time of
 * `timeZone`. Readings outside the window are ignored. One pass gathers the sums, the range counts, the gaps
 * and each reading's AGP bin; the AGP then sorts each bin's values.
 */
export const summarize = (
  points: ReadonlyArray<GlucosePoint>,
  window: TimeWindow,
  timeZone: TimeZoneName
): GlycemicSummary => {
  const { seconds, values, count } = seriesOf(points, window)
  if (count === 0) return empty(window, timeZone)

  const localSeconds = localSecondsCursor(zoneOffsets(timeZone, seconds[0]!, seconds[count - 1]!))
  const bins = new Uint8Array(count)
  let sum = 0
  let sumOfSquares = 0
  let veryLow = 0
  let low = 0
  let target = 0
  let high = 0
  let tightTarget = 0
  for (let i = 0; i < count; i++) {
    const value = values[i]!
    sum += value
    sumOfSquares += value * value
    if (value < GLUCOSE_RANGES.veryLowBelow) veryLow++
    else if (value < GLUCOSE_RANGES.lowBelow) low++
    else if (value <= GLUCOSE_RANGES.targetAtMost) {
      target++
      if (value <= GLUCOSE_RANGES.tightTargetAtMost) tightTarget++
    } else if (value <= GLUCOSE_RANGES.highAtMost) high++
    bins[i] = agpBinOf(localSeconds(Math.floor(seconds[i]!)))
  }
  const veryHigh = count - veryLow - low - target - high
  const percentOf = (part: number) => roundRatio(100 * part, count, 1)

  const interval = mostCommonGap(seconds, count)
  const windowMillis = DateTime.toEpochMillis(window.to) - DateTime.toEpochMillis(window.from)
  const activePercent =
    interval === null
      ? null
      : Math.min(100, roundRatio(100n * BigInt(count) * BigInt(Math.round(interval * 1000)), windowMillis, 1))

  // Exact integer sums (values are whole mg/dL): n·Σg² − (Σg)² is n·(n − 1) times the sample variance.
  const n = BigInt(count)
  const bigSum = BigInt(sum)
  const deviations = n * BigInt(sumOfSquares) - bigSum * bigSum
  return {
    from: window.from,
    to: window.to,
    timeZone,
    readings: count,
    intervalSeconds: interval,
    activePercent,
    meanMgDl: roundRatio(sum, count, 1),
    sdMgDl: count < 2 ? null : roundSqrtRatio(deviations, n * (n - 1n), 1),
    cvPercent: count < 2 ? null : roundSqrtRatio(10_000n * n * deviations, (n - 1n) * bigSum * bigSum, 1),
    gmiPercent: roundRatio(331_000 * count + 2392 * sum, 100_000 * count, 2),
    timeInRange: {
      veryLowPercent: percentOf(veryLow),
      lowPercent: percentOf(low),
      targetPercent: percentOf(target),
      highPercent: percentOf(high),
      veryHighPercent: percentOf(veryHigh),
      tightTargetPercent: percentOf(tightTarget)
    },
    rangeCounts: { veryLow, low, target, high, veryHigh, tightTarget },
    hypoglycemiaEvents:
      interval === null
        ? null
        : {
            level1: countHypoglycemiaEvents(seconds, values, count, interval, GLUCOSE_RANGES.lowBelow),
            level2: countHypoglycemiaEvents(seconds, values, count, interval, GLUCOSE_RANGES.veryLowBelow)
          },
    agp: agpOf(bins, values, count)
  }
}
