/** How long and how often to measure; environment variables scale the whole suite up or down. */
export const settings = {
  rounds: Number(process.env.BENCH_ROUNDS ?? 3),
  seconds: Number(process.env.BENCH_SECONDS ?? 5),
  warmupSeconds: Number(process.env.BENCH_WARMUP_SECONDS ?? 3)
}

export interface Paired<B, T = B> {
  readonly baseline: ReadonlyArray<B>
  readonly target: ReadonlyArray<T>
}

/**
 * Measures baseline and target `rounds` times, alternating which goes first, so that a machine growing busier
 * or quieter during the run weighs on both alike.
 */
export const alternate = async <B, T>(
  rounds: number,
  measureBaseline: (round: number) => Promise<B>,
  measureTarget: (round: number) => Promise<T>
): Promise<Paired<B, T>> => {
  const baseline: Array<B> = []
  const target: Array<T> = []
  for (let round = 0; round < rounds; round++) {
    if (round % 2 === 0) {
      baseline.push(await measureBaseline(round))
      target.push(await measureTarget(round))
    } else {
      target.push(await measureTarget(round))
      baseline.push(await measureBaseline(round))
    }
  }
  return { baseline, target }
}
