/** Order statistics of a benchmark's rounds. Figures from a shared machine are noisy: report the median. */
export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2
}

export const minimum = (values: ReadonlyArray<number>): number =>
  values.length === 0 ? Number.NaN : Math.min(...values)

export const maximum = (values: ReadonlyArray<number>): number =>
  values.length === 0 ? Number.NaN : Math.max(...values)

/** Per-round ratios `a[i] / b[i]`: paired within a round, so drift of the machine between rounds cancels. */
export const pairedRatios = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): ReadonlyArray<number> =>
  a.map((value, index) => value / b[index]!)
