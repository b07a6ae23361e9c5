import { Clock, DateTime, Duration, Effect, Layer } from "effect"

/**
 * A wall clock for tests that talk over real I/O (the fake provider servers, a test HTTP server, a broker), where
 * `TestClock` cannot be used because a retry's backoff would wait for a clock nobody moves. It reads a fixed
 * instant until the test moves it, so every instant a test asserts (`nextPollAt`, `backfillFrom`, a default
 * range) is exact whatever the hour, the date or the machine's speed; sleeps and timeouts still take real time.
 */
export interface ManualClock {
  readonly clock: Clock.Clock
  /** The instant it reads, in epoch milliseconds. */
  readonly now: () => number
  readonly nowUtc: () => DateTime.Utc
  readonly set: (epochMillis: number) => void
  readonly adjust: (duration: Duration.Input) => void
  /** Runs `effect`, and every fiber it starts, on this clock. */
  readonly provide: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** This clock for a layer (a server built from it keeps it). */
  readonly layer: Layer.Layer<never>
}

export const manualClock = (start: number | string | DateTime.DateTime): ManualClock => {
  const live = Clock.Clock.defaultValue()
  let millis = typeof start === "number" ? start : DateTime.toEpochMillis(DateTime.makeUnsafe(start))
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => millis,
    currentTimeMillis: Effect.sync(() => millis),
    currentTimeNanosUnsafe: () => BigInt(millis) * 1_000_000n,
    currentTimeNanos: Effect.sync(() => BigInt(millis) * 1_000_000n),
    monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: live.monotonicTimeNanos,
    sleep: (duration) => live.sleep(duration)
  }
  return {
    clock,
    now: () => millis,
    nowUtc: () => DateTime.makeUnsafe(millis),
    set: (epochMillis) => {
      millis = epochMillis
    },
    adjust: (duration) => {
      millis += Duration.toMillis(Duration.fromInputUnsafe(duration))
    },
    provide: (effect) => Effect.provideService(effect, Clock.Clock, clock),
    layer: Layer.succeed(Clock.Clock, clock)
  }
}

/** Epoch milliseconds of an ISO instant, for fixed test instants. */
export const instant = (iso: string): number => DateTime.toEpochMillis(DateTime.makeUnsafe(iso))
