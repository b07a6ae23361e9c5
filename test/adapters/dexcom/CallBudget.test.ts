import { makeCallBudget } from "@bg-ingest/adapters"
import { ProviderId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Clock, Duration, Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"

const provider = ProviderId.make("dexcom")

describe("CallBudget", () => {
  it.effect("spends the burst at once, then makes a call wait for the next token, within the bound", () =>
    Effect.gen(function* () {
      // 3,600 an hour: one call a second.
      const budget = yield* makeCallBudget({ provider, callsPerHour: 3600, burst: 5, maxWait: "2 seconds" })
      for (let i = 0; i < 5; i++) yield* budget.take
      const start = yield* Clock.currentTimeMillis
      const waiting = yield* Effect.forkChild(Effect.andThen(budget.take, Clock.currentTimeMillis))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual((yield* Fiber.join(waiting)) - start, 1000)
    })
  )

  it.effect("fails as RateLimited, with the time until a call is free, rather than wait long", () =>
    Effect.gen(function* () {
      const budget = yield* makeCallBudget({ provider, callsPerHour: 3600, burst: 2, maxWait: "500 millis" })
      yield* budget.take
      yield* budget.take
      const exit = yield* Effect.exit(budget.take)
      assert.isTrue(Exit.isFailure(exit))
      const error = Exit.isFailure(exit) ? exit.cause.reasons[0] : undefined
      assert.strictEqual(error?._tag, "Fail")
      if (error?._tag === "Fail") {
        assert.strictEqual(error.error._tag, "RateLimited")
        assert.strictEqual(Duration.toMillis(error.error.retryAfter), 1000)
      }
      yield* TestClock.adjust("1 second")
      yield* budget.take
    })
  )

  it.effect("never lets more than the hourly budget (plus the burst) through, however many callers", () =>
    Effect.gen(function* () {
      const budget = yield* makeCallBudget({ provider, callsPerHour: 1200, burst: 20, maxWait: "1 second" })
      let allowed = 0
      let refused = 0
      // 50 callers each trying every 10 seconds for an hour: 18,000 attempts.
      for (let tick = 0; tick < 360; tick++) {
        for (let caller = 0; caller < 50; caller++) {
          const exit = yield* Effect.exit(budget.take.pipe(Effect.timeout("0 millis")))
          if (Exit.isSuccess(exit)) allowed += 1
          else refused += 1
        }
        yield* TestClock.adjust("10 seconds")
      }
      assert.isAtMost(allowed, 1200 + 20)
      assert.isAtLeast(allowed, 1150)
      assert.strictEqual(allowed + refused, 18_000)
    })
  )

  it.effect("refuses every call while paused by a 429, and resumes after", () =>
    Effect.gen(function* () {
      const budget = yield* makeCallBudget({ provider, callsPerHour: 3600, burst: 5, maxWait: "2 seconds" })
      const now = yield* Clock.currentTimeMillis
      yield* budget.pauseUntil(now + 30_000)
      const exit = yield* Effect.exit(budget.take)
      assert.isTrue(Exit.isFailure(exit))
      yield* TestClock.adjust("30 seconds")
      yield* budget.take
      assert.isAtLeast(yield* budget.available, 3)
    })
  )
})
