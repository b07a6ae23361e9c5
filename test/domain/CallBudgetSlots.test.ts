import { budgetSlotAt, type CallLimit } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration } from "effect"

/**
 * A taker as greedy as can be (every second, as many calls as the slot still allows), for three periods: the
 * calls in every window of one period, wherever it starts (by the second), never exceed the limit.
 */
const worstWindow = (limit: CallLimit, startMillis: number) => {
  const seconds = 3 * Duration.toSeconds(limit.per)
  const perSecond = new Array<number>(seconds).fill(0)
  const taken = new Map<number, number>()
  for (let second = 0; second < seconds; second++) {
    const slot = budgetSlotAt(limit, DateTime.makeUnsafe(startMillis + second * 1000))
    const start = DateTime.toEpochMillis(slot.window.from)
    const used = taken.get(start) ?? 0
    perSecond[second] = slot.limit - used
    taken.set(start, slot.limit)
  }
  const window = Duration.toSeconds(limit.per)
  let sum = perSecond.slice(0, window).reduce((a, b) => a + b, 0)
  let worst = sum
  for (let end = window; end < seconds; end++) {
    sum += perSecond[end]! - perSecond[end - window]!
    worst = Math.max(worst, sum)
  }
  return { worst, total: perSecond.reduce((a, b) => a + b, 0), slotsTouched: taken.size }
}

describe("budget slots", () => {
  for (const calls of [2, 7, 60, 61, 100, 600, 48_000, 60_000]) {
    it(`no hour holds more than ${calls} calls, however they are timed, and most of the budget is usable`, () => {
      const limit = { calls, per: Duration.hours(1) }
      // A start that is not on a slot boundary, too.
      for (const start of [Date.UTC(2026, 1, 1), Date.UTC(2026, 1, 1) + 12_345]) {
        const { worst, total, slotsTouched } = worstWindow(limit, start)
        assert.isAtMost(worst, calls)
        // Every slot lets its share through (60 slots an hour of 1/61 each: 98 % of 48,000).
        const slots = Math.max(1, Math.min(60, calls - 1))
        assert.strictEqual(total, slotsTouched * Math.max(1, Math.floor(calls / (slots + 1))))
        assert.isAtLeast(slotsTouched, 3 * slots)
      }
    })
  }
})
