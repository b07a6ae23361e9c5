import { type ProviderId, RateLimited } from "@bg-ingest/domain"
import { Clock, Duration, Effect } from "effect"

export interface CallBudgetOptions {
  readonly provider: ProviderId
  /** Calls allowed per hour, refilled continuously. */
  readonly callsPerHour: number
  /** How many calls may be made at once after a quiet spell (the bucket's size). */
  readonly burst: number
  /** A call waits for the budget at most this long; beyond that it fails as rate limited. */
  readonly maxWait: Duration.Input
}

export interface CallBudget {
  /** Takes one call from the budget, waiting up to `maxWait`; fails with `RateLimited` (and when to retry) otherwise. */
  readonly take: Effect.Effect<void, RateLimited>
  /** Stops every call until `untilMillis` (epoch), because the provider answered 429. */
  readonly pauseUntil: (untilMillis: number) => Effect.Effect<void>
  /** Calls available now (negative while calls are waiting for the budget). */
  readonly available: Effect.Effect<number>
}

/**
 * A token bucket shared by every call to a provider from this process, so that all users together stay under
 * the provider's per-application limit. A call never waits long: when the budget is spent it fails at once as
 * `RateLimited` with the time until a call is free, and its connection is retried then, so one busy user never
 * holds the others up.
 */
export const makeCallBudget = (options: CallBudgetOptions): Effect.Effect<CallBudget> =>
  Effect.map(Clock.currentTimeMillis, (startMillis) => {
    const perMillis = options.callsPerHour / 3_600_000
    const maxWaitMillis = Duration.toMillis(options.maxWait)
    let tokens = options.burst
    let updatedAt = startMillis
    let pausedUntil = 0

    const refill = (now: number) => {
      if (now > updatedAt) {
        tokens = Math.min(options.burst, tokens + (now - updatedAt) * perMillis)
        updatedAt = now
      }
    }
    const limited = (waitMillis: number, message: string) =>
      new RateLimited({ provider: options.provider, retryAfter: Duration.millis(Math.ceil(waitMillis)), message })

    const take = Effect.flatMap(Clock.currentTimeMillis, (now) => {
      if (now < pausedUntil) {
        return Effect.fail(limited(pausedUntil - now, `${options.provider} asked every client to slow down`))
      }
      refill(now)
      if (tokens >= 1) {
        tokens -= 1
        return Effect.void
      }
      const waitMillis = (1 - tokens) / perMillis
      if (waitMillis > maxWaitMillis) {
        return Effect.fail(
          limited(waitMillis, `The ${options.provider} call budget (${options.callsPerHour} an hour) is spent`)
        )
      }
      // The call is reserved now, so calls arriving meanwhile queue behind it instead of overtaking it.
      tokens -= 1
      return Effect.sleep(Duration.millis(Math.ceil(waitMillis))).pipe(
        // A caller that gives up while waiting hands its reservation back.
        Effect.onInterrupt(() =>
          Effect.sync(() => {
            tokens += 1
          })
        )
      )
    })

    return {
      take,
      pauseUntil: (untilMillis) =>
        Effect.sync(() => {
          pausedUntil = Math.max(pausedUntil, untilMillis)
        }),
      available: Effect.map(Clock.currentTimeMillis, (now) => {
        refill(now)
        return tokens
      })
    }
  })
