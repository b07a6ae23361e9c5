import { percentileHundredths } from "./Percentile.ts"

/** Minutes per AGP bin, and bins per day. */
export const AGP_BIN_MINUTES = 15
export const AGP_BINS = (24 * 60) / AGP_BIN_MINUTES

const DAY_SECONDS = 86_400
const BIN_SECONDS = AGP_BIN_MINUTES * 60

/** The AGP's percentiles. */
export const AGP_PERCENTS = [5, 25, 50, 75, 95] as const

/** One bin of the Ambulatory Glucose Profile: readings whose local time of day falls in `[minute, minute + 15)`. */
export interface AgpBin {
  readonly minute: number
  readonly n: number
  readonly p5: number
  readonly p25: number
  readonly p50: number
  readonly p75: number
  readonly p95: number
}

/** The AGP bin (0–95) of a local time given as seconds since the epoch in local time. */
export const agpBinOf = (localSeconds: number): number => {
  const secondOfDay = localSeconds - Math.floor(localSeconds / DAY_SECONDS) * DAY_SECONDS
  return Math.floor(secondOfDay / BIN_SECONDS)
}

/** A percentile rounded half up to one decimal, from its exact value in hundredths (a whole number). */
const oneDecimal = (hundredths: number) => Math.floor((hundredths + 5) / 10) / 10

/**
 * The AGP of `count` readings whose bins are `bins[i]` and values `values[i]`: the values are grouped by bin (a
 * counting sort), each bin sorted, and its percentiles read off. Bins without readings are left out.
 */
export const agpOf = (bins: ArrayLike<number>, values: ArrayLike<number>, count: number): ReadonlyArray<AgpBin> => {
  const sizes = new Int32Array(AGP_BINS)
  for (let i = 0; i < count; i++) sizes[bins[i]!]!++
  const offsets = new Int32Array(AGP_BINS + 1)
  for (let bin = 0; bin < AGP_BINS; bin++) offsets[bin + 1] = offsets[bin]! + sizes[bin]!
  const grouped = new Float64Array(count)
  const next = offsets.slice(0, AGP_BINS)
  for (let i = 0; i < count; i++) grouped[next[bins[i]!]!++] = values[i]!
  const result: Array<AgpBin> = []
  for (let bin = 0; bin < AGP_BINS; bin++) {
    const start = offsets[bin]!
    const end = offsets[bin + 1]!
    if (start === end) continue
    grouped.subarray(start, end).sort()
    const at = (percent: number) => oneDecimal(percentileHundredths(grouped, start, end, percent))
    result.push({
      minute: bin * AGP_BIN_MINUTES,
      n: end - start,
      p5: at(5),
      p25: at(25),
      p50: at(50),
      p75: at(75),
      p95: at(95)
    })
  }
  return result
}
