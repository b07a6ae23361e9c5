/**
 * Exact rounding, half up, of the summary's figures. Each figure is a rational number (or the square root of one)
 * of integer sums, so it is rounded from that exact value: floating-point arithmetic would put a figure such as
 * 12.25 a hair below the half and round it down.
 */

const TEN = 10n

const scaleOf = (decimals: number): bigint => TEN ** BigInt(decimals)

/** `numerator / denominator` (non-negative integers, denominator > 0) rounded half up to `decimals` decimals. */
export const roundRatio = (numerator: number | bigint, denominator: number | bigint, decimals: number): number => {
  const scale = scaleOf(decimals)
  const num = BigInt(numerator)
  const den = BigInt(denominator)
  // floor(scale·num/den + 1/2) = floor((2·scale·num + den) / (2·den))
  const scaled = (2n * scale * num + den) / (2n * den)
  return Number(scaled) / Number(scale)
}

/**
 * `√(numerator / denominator)` (non-negative integers, denominator > 0) rounded half up to `decimals` decimals:
 * the largest `r` with `(r − ½)² ≤ scale² · numerator / denominator`, checked in integers.
 */
export const roundSqrtRatio = (numerator: bigint, denominator: bigint, decimals: number): number => {
  const scale = scaleOf(decimals)
  const bound = 4n * scale * scale * numerator
  // (2r − 1)² · denominator ≤ 4 · scale² · numerator
  const fits = (r: bigint) => r === 0n || (2n * r - 1n) ** 2n * denominator <= bound
  let r = BigInt(Math.max(0, Math.floor(Number(scale) * Math.sqrt(Number(numerator) / Number(denominator)) + 0.5)))
  while (!fits(r)) r -= 1n
  while (fits(r + 1n)) r += 1n
  return Number(r) / Number(scale)
}
