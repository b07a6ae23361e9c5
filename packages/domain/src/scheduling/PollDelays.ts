import { Duration } from "effect"

/**
 * Delay before retrying a connection after `consecutiveFailures` failures in a row: exponential from `base`,
 * capped at `max`, with "equal jitter" (between half and all of the capped delay) so that many connections
 * failing together do not retry together. `random` is in [0, 1).
 */
export const failureBackoff = (
  consecutiveFailures: number,
  base: Duration.Duration,
  max: Duration.Duration,
  random: number
): Duration.Duration => {
  const exponent = Math.max(0, Math.min(consecutiveFailures - 1, 30))
  const capped = Math.min(Duration.toMillis(max), Duration.toMillis(base) * 2 ** exponent)
  return Duration.millis(Math.round(capped / 2 + (capped / 2) * random))
}

/** The interval to the next regular poll: the interval plus up to `jitterRatio` of it. `random` is in [0, 1). */
export const jitteredInterval = (interval: Duration.Duration, jitterRatio: number, random: number): Duration.Duration =>
  Duration.millis(Math.round(Duration.toMillis(interval) * (1 + jitterRatio * random)))
