import type { GlucosePoint, TimeWindow } from "@bg-ingest/domain"
import { DateTime } from "effect"

/**
 * A second, deliberately plain implementation of the summary's unrounded figures for the property tests: floating
 * point throughout, a full `Intl` date format per reading for its local time, events found by scanning runs. The
 * domain's figures must lie within rounding of these.
 */
export interface ReferenceFigures {
  readonly readings: number
  readonly interval: number | null
  readonly active: number | null
  readonly mean: number
  readonly sd: number | null
  readonly cv: number | null
  readonly gmi: number
  readonly ranges: ReadonlyArray<number>
  readonly events: readonly [number, number] | null
  readonly agp: ReadonlyArray<{ minute: number; n: number; percentiles: ReadonlyArray<number> }>
}

const numpyPercentile = (sorted: ReadonlyArray<number>, p: number) => {
  const h = (sorted.length - 1) * (p / 100)
  const low = Math.floor(h)
  return low + 1 < sorted.length ? sorted[low]! + (h - low) * (sorted[low + 1]! - sorted[low]!) : sorted[low]!
}

const localMinuteOfDay = (format: Intl.DateTimeFormat, epochSeconds: number) => {
  const parts = format.formatToParts(new Date(epochSeconds * 1000))
  const part = (type: string) => Number(parts.find((p) => p.type === type)!.value)
  return part("hour") * 60 + part("minute")
}

const events = (readings: ReadonlyArray<[number, number]>, interval: number, threshold: number) => {
  let count = 0
  let inEvent = false
  let i = 0
  while (i < readings.length) {
    // A gap breaks the run that is the event.
    if (i > 0 && readings[i]![0] - readings[i - 1]![0] > 2 * interval) inEvent = false
    const below = readings[i]![1] < threshold
    let j = i
    while (
      j + 1 < readings.length &&
      readings[j + 1]![1] < threshold === below &&
      readings[j + 1]![0] - readings[j]![0] <= 2 * interval
    )
      j++
    const lasts = readings[j]![0] - readings[i]![0] + interval >= 900
    if (lasts && below && !inEvent) {
      count++
      inEvent = true
    } else if (lasts && !below && inEvent) inEvent = false
    i = j + 1
  }
  return count
}

export const referenceFigures = (
  points: ReadonlyArray<GlucosePoint>,
  window: TimeWindow,
  zone: string
): ReferenceFigures | null => {
  const from = DateTime.toEpochMillis(window.from) / 1000
  const to = DateTime.toEpochMillis(window.to) / 1000
  const readings = points
    .map((p): [number, number] => [DateTime.toEpochMillis(p.timestamp) / 1000, p.glucoseMgDl])
    .filter(([t]) => t >= from && t < to)
    .sort((a, b) => a[0] - b[0] || a[1] - b[1])
  const n = readings.length
  if (n === 0) return null
  const values = readings.map(([, v]) => v)
  const mean = values.reduce((a, b) => a + b, 0) / n
  const sd = n < 2 ? null : Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1))
  const gaps = new Map<number, number>()
  for (let i = 1; i < n; i++) {
    const gap = readings[i]![0] - readings[i - 1]![0]
    if (gap > 0) gaps.set(gap, (gaps.get(gap) ?? 0) + 1)
  }
  const ranked = [...gaps].sort((a, b) => b[1] - a[1] || a[0] - b[0])
  const interval = ranked.length === 0 ? null : ranked[0]![0]
  const share = (test: (v: number) => boolean) => (100 * values.filter(test).length) / n
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone: zone,
    hour: "2-digit",
    minute: "2-digit",
    hourCycle: "h23"
  })
  const bins = new Map<number, Array<number>>()
  for (const [t, v] of readings) {
    const minute = Math.floor(localMinuteOfDay(format, t) / 15) * 15
    bins.set(minute, [...(bins.get(minute) ?? []), v])
  }
  return {
    readings: n,
    interval,
    active: interval === null ? null : Math.min(100, (100 * n * interval) / (to - from)),
    mean,
    sd,
    cv: sd === null ? null : (100 * sd) / mean,
    gmi: 3.31 + 0.02392 * mean,
    ranges: [
      share((v) => v < 54),
      share((v) => v >= 54 && v <= 69),
      share((v) => v >= 70 && v <= 180),
      share((v) => v >= 181 && v <= 250),
      share((v) => v > 250),
      share((v) => v >= 70 && v <= 140)
    ],
    events: interval === null ? null : [events(readings, interval, 70), events(readings, interval, 54)],
    agp: [...bins]
      .sort((a, b) => a[0] - b[0])
      .map(([minute, group]) => {
        const sorted = [...group].sort((a, b) => a - b)
        return { minute, n: group.length, percentiles: [5, 25, 50, 75, 95].map((p) => numpyPercentile(sorted, p)) }
      })
  }
}
