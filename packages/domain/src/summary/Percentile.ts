/**
 * The `percent`-th percentile of `sorted[start, end)` (ascending, non-empty) by linear interpolation between order
 * statistics (numpy's default, Hyndman & Fan type 7): at position `h = (m − 1) · percent / 100` of the `m` values,
 * `x[⌊h⌋] + (h − ⌊h⌋) · (x[⌊h⌋ + 1] − x[⌊h⌋])`.
 *
 * With an integer `percent` and integer values the answer is a multiple of 1/100, and it is computed as one:
 * `hundredths` answers 100 × the percentile, exactly.
 */
export const percentileHundredths = (
  sorted: ArrayLike<number>,
  start: number,
  end: number,
  percent: number
): number => {
  const position = (end - start - 1) * percent
  const below = Math.floor(position / 100)
  const fraction = position - below * 100
  const low = sorted[start + below]!
  return fraction === 0 ? low * 100 : low * 100 + fraction * (sorted[start + below + 1]! - low)
}

/** The percentile of `values` (any order, non-empty) as a plain number, by the same definition. */
export const percentile = (values: ReadonlyArray<number>, percent: number): number => {
  const sorted = Float64Array.from(values).sort()
  return percentileHundredths(sorted, 0, sorted.length, percent) / 100
}
