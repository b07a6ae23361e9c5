import { countHypoglycemiaEvents } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import { at, every, summaryOf, times, windowOf } from "../../support/glucoseSeries.ts"

const DAY = windowOf("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z")
const START = at("2025-06-02T00:00:00Z")

/** Events in a 5-minute series, counted through the whole summary (so the interval is found, not given). */
const eventsOf = (values: ReadonlyArray<number>, step = 300) =>
  summaryOf(every(START, step, values), DAY).hypoglycemiaEvents

/** A series between 12 readings in range on each side, so that the most common gap is the step. */
const framed = (middle: ReadonlyArray<number>) => [...times(12, 110), ...middle, ...times(12, 110)]

describe("hypoglycemia events", () => {
  it("an event needs 15 minutes below: 3 readings 5 minutes apart (10 + 5), not 2", () => {
    assert.deepStrictEqual(eventsOf(framed(times(3, 65))), { level1: 1, level2: 0 })
    assert.deepStrictEqual(eventsOf(framed(times(2, 65))), { level1: 0, level2: 0 })
    assert.deepStrictEqual(eventsOf(framed(times(3, 50))), { level1: 1, level2: 1 })
    assert.deepStrictEqual(eventsOf(framed([50, 50, 60])), { level1: 1, level2: 0 })
  })

  it("a 1-minute sensor needs 15 readings, a 15-minute one a single reading", () => {
    assert.deepStrictEqual(eventsOf(framed(times(15, 60)), 60), { level1: 1, level2: 0 })
    assert.deepStrictEqual(eventsOf(framed(times(14, 60)), 60), { level1: 0, level2: 0 })
    assert.deepStrictEqual(eventsOf(framed([60]), 900), { level1: 1, level2: 0 })
  })

  it("the thresholds are strict: 70 and 54 are not below them", () => {
    assert.deepStrictEqual(eventsOf(framed(times(6, 70))), { level1: 0, level2: 0 })
    assert.deepStrictEqual(eventsOf(framed(times(6, 54))), { level1: 1, level2: 0 })
    assert.deepStrictEqual(eventsOf(framed(times(6, 53))), { level1: 1, level2: 1 })
  })

  it("an event ends only after 15 minutes at or above the threshold", () => {
    // Below, 10 minutes back in range, below again: one event.
    assert.deepStrictEqual(eventsOf(framed([60, 60, 60, 80, 80, 60, 60, 60])), { level1: 1, level2: 0 })
    // Below, 15 minutes back in range, below again: two.
    assert.deepStrictEqual(eventsOf(framed([60, 60, 60, 80, 80, 80, 60, 60, 60])), { level1: 2, level2: 0 })
    // Level 2 ends on readings of 54 or more even while they stay below 70.
    assert.deepStrictEqual(eventsOf(framed([50, 50, 50, 60, 60, 60, 50, 50, 50])), { level1: 1, level2: 2 })
  })

  it("readings further apart than 2 × the interval break a run; exactly 2 × does not", () => {
    const inRange = every(START, 300, times(24, 110)) // 00:00–01:55, every 5 minutes
    const points = (lowAtMinutes: ReadonlyArray<number>) => [
      ...inRange,
      ...lowAtMinutes.map((minutes) => ({
        timestamp: DateTime.add(at("2025-06-02T02:00:00Z"), { minutes }),
        glucoseMgDl: 60
      }))
    ]
    // 02:00 and 02:10 (10 minutes = 2 × 5 apart) are consecutive: 10 + 5 = 15 minutes.
    assert.deepStrictEqual(summaryOf(points([0, 10]), DAY).hypoglycemiaEvents, { level1: 1, level2: 0 })
    // 02:00, 02:05, then 02:16 (11 minutes later): two runs of 10 and 5 minutes, no event.
    assert.deepStrictEqual(summaryOf(points([0, 5, 16]), DAY).hypoglycemiaEvents, { level1: 0, level2: 0 })
    // The gap before the first low reading breaks nothing that matters: 02:30, 02:35, 02:40 is 15 minutes.
    assert.deepStrictEqual(summaryOf(points([30, 35, 40]), DAY).hypoglycemiaEvents, { level1: 1, level2: 0 })
  })

  it("a gap ends an event: after it, a new event needs its own 15 minutes below", () => {
    const inEvent = [...times(12, 110), ...times(3, 60)] // 00:00–01:10
    const afterGap = every(at("2025-06-02T03:00:00Z"), 300, [60, 60, 60, 80, 80, 80, 60, 60, 60])
    const points = [...every(START, 300, inEvent), ...afterGap]
    // The first event ends at the gap; the run after it is a second; 15 minutes in range end that; the last a third.
    assert.deepStrictEqual(summaryOf(points, DAY).hypoglycemiaEvents, { level1: 3, level2: 0 })
    // A short low run after the gap is no event, even though the readings before the gap were one.
    const shortAfterGap = every(at("2025-06-02T03:00:00Z"), 300, [60, 60, 110, 110, 110])
    assert.deepStrictEqual(summaryOf([...every(START, 300, inEvent), ...shortAfterGap], DAY).hypoglycemiaEvents, {
      level1: 1,
      level2: 0
    })
  })

  it("the run counter on its own: durations are last − first + interval", () => {
    const seconds = [0, 300, 600, 900, 1200]
    assert.strictEqual(countHypoglycemiaEvents(seconds, [60, 60, 60, 100, 100], 5, 300, 70), 1)
    assert.strictEqual(countHypoglycemiaEvents(seconds, [60, 60, 100, 60, 60], 5, 300, 70), 0)
    assert.strictEqual(countHypoglycemiaEvents(seconds, [60, 60, 60, 60, 60], 5, 420, 70), 1) // 1200 + 420 ≥ 900
    assert.strictEqual(countHypoglycemiaEvents(seconds, [60, 60, 60, 60, 60], 0, 300, 70), 0)
  })
})
