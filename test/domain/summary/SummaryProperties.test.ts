import { type GlucosePoint, type GlycemicSummary, makeWindow, mostCommonGap } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import * as fc from "fast-check"
import { type Case, caseArbitrary, FIXED_OFFSET_ZONES, shuffled } from "../../support/glucoseArbitraries.ts"
import { summaryOf } from "../../support/glucoseSeries.ts"
import { referenceFigures } from "../../support/summaryReference.ts"

const summaryOfCase = (c: Case) => summaryOf(c.points, c.window, c.zone)

/** The figures, without the window: what must not change when the readings move with their window. */
const figures = (summary: GlycemicSummary) => ({ ...summary, from: null, to: null })

const shiftPoints = (points: ReadonlyArray<GlucosePoint>, seconds: number) =>
  points.map((point) => ({ ...point, timestamp: DateTime.add(point.timestamp, { seconds }) }))

const shiftCase = (c: Case, seconds: number): Case => ({
  ...c,
  points: shiftPoints(c.points, seconds),
  window: makeWindow(DateTime.add(c.window.from, { seconds }), DateTime.add(c.window.to, { seconds }))
})

/** Rounded to `decimals` from a float: the domain's exact rounding may differ by one unit only at a half. */
const near = (actual: number | null, expected: number | null, decimals: number, what: string) => {
  if (expected === null || actual === null) return assert.strictEqual(actual, expected, what)
  assert.isAtMost(Math.abs(actual - expected), 0.5 * 10 ** -decimals + 1e-9, `${what}: ${actual} vs ${expected}`)
}

describe("glycemic summary: properties", () => {
  it("the five ranges sum to 100 within rounding; tight target lies within target", () => {
    fc.assert(
      fc.property(caseArbitrary({ zones: ["UTC"] }), (c) => {
        const ranges = summaryOfCase(c).timeInRange
        if (ranges === null) return
        const sum =
          ranges.veryLowPercent + ranges.lowPercent + ranges.targetPercent + ranges.highPercent + ranges.veryHighPercent
        assert.isAtMost(Math.abs(sum - 100), 0.25 + 1e-9)
        assert.isAtMost(ranges.tightTargetPercent, ranges.targetPercent)
        for (const value of Object.values(ranges)) assert.isTrue(value >= 0 && value <= 100)
      })
    )
  })

  it("the order of the readings changes nothing", () => {
    fc.assert(
      fc.property(caseArbitrary(), fc.integer(), (c, seed) => {
        assert.deepStrictEqual(summaryOfCase({ ...c, points: shuffled(c.points, seed) }), summaryOfCase(c))
      }),
      { numRuns: 60 }
    )
  })

  it("moving readings and window by whole days changes nothing in a zone without DST", () => {
    fc.assert(
      fc.property(caseArbitrary({ zones: FIXED_OFFSET_ZONES }), fc.integer({ min: -30, max: 30 }), (c, days) => {
        assert.deepStrictEqual(figures(summaryOfCase(shiftCase(c, days * 86_400))), figures(summaryOfCase(c)))
      }),
      { numRuns: 60 }
    )
  })

  it("moving by 15 minutes moves every AGP bin by one and changes nothing else", () => {
    fc.assert(
      fc.property(caseArbitrary({ zones: FIXED_OFFSET_ZONES }), (c) => {
        const before = summaryOfCase(c)
        const after = summaryOfCase(shiftCase(c, 900))
        assert.deepStrictEqual({ ...figures(after), agp: null }, { ...figures(before), agp: null })
        const moved = before.agp?.map((bin) => ({ ...bin, minute: (bin.minute + 15) % 1440 }))
        assert.deepStrictEqual(after.agp, moved?.sort((a, b) => a.minute - b.minute) ?? null)
      }),
      { numRuns: 60 }
    )
  })

  it("an event needs 15 minutes: with every run below 70 kept shorter, there is none", () => {
    fc.assert(
      fc.property(caseArbitrary(), (c) => {
        const seconds = c.points.map((point) => DateTime.toEpochMillis(point.timestamp) / 1000)
        const interval = mostCommonGap(seconds, seconds.length) ?? c.cadence
        let runStart = -1
        const points = c.points.map((point, index) => {
          if (point.glucoseMgDl >= 70) {
            runStart = -1
            return point
          }
          if (runStart < 0) runStart = seconds[index]!
          if (seconds[index]! - runStart + interval < 900) return point
          runStart = -1
          return { ...point, glucoseMgDl: 100 }
        })
        const events = summaryOf(points, c.window, c.zone).hypoglycemiaEvents
        if (events !== null) assert.deepStrictEqual(events, { level1: 0, level2: 0 })
      })
    )
  })

  it("15 minutes below 54 in a regular series is an event of both levels", () => {
    fc.assert(
      fc.property(caseArbitrary({ irregular: false, maxReadings: 300 }), fc.nat(), (c, at) => {
        const needed = Math.ceil(900 / c.cadence)
        fc.pre(c.points.length >= needed + 1)
        const start = at % (c.points.length - needed + 1)
        const points = c.points.map((point, index) =>
          index >= start && index < start + needed ? { ...point, glucoseMgDl: 50 } : point
        )
        const window = makeWindow(c.points[0]!.timestamp, DateTime.add(c.points.at(-1)!.timestamp, { seconds: 1 }))
        const events = summaryOf(points, window, c.zone).hypoglycemiaEvents!
        assert.isAtLeast(events.level1, 1)
        assert.isAtLeast(events.level2, 1)
      })
    )
  })

  it("the AGP's bins are ordered, hold every reading once, and their percentiles are ordered", () => {
    fc.assert(
      fc.property(caseArbitrary(), (c) => {
        const summary = summaryOfCase(c)
        if (summary.agp === null) return assert.strictEqual(summary.readings, 0)
        assert.strictEqual(
          summary.agp.reduce((sum, bin) => sum + bin.n, 0),
          summary.readings
        )
        summary.agp.forEach((bin, index) => {
          assert.strictEqual(bin.minute % 15, 0)
          if (index > 0) assert.isAbove(bin.minute, summary.agp![index - 1]!.minute)
          assert.isTrue(bin.p5 <= bin.p25 && bin.p25 <= bin.p50 && bin.p50 <= bin.p75 && bin.p75 <= bin.p95)
        })
        assert.isAtMost(summary.activePercent ?? 0, 100)
      })
    )
  })

  it("agrees with a plain floating-point implementation within rounding, bins and events exactly", () => {
    fc.assert(
      fc.property(caseArbitrary(), (c) => {
        const summary = summaryOfCase(c)
        const reference = referenceFigures(c.points, c.window, c.zone)
        if (reference === null) return assert.strictEqual(summary.readings, 0)
        assert.strictEqual(summary.readings, reference.readings)
        assert.strictEqual(summary.intervalSeconds, reference.interval)
        near(summary.activePercent, reference.active, 1, "active")
        near(summary.meanMgDl, reference.mean, 1, "mean")
        near(summary.sdMgDl, reference.sd, 1, "sd")
        near(summary.cvPercent, reference.cv, 1, "cv")
        near(summary.gmiPercent, reference.gmi, 2, "gmi")
        Object.values(summary.timeInRange!).forEach((value, index) => {
          near(value, reference.ranges[index]!, 1, `range ${index}`)
        })
        assert.deepStrictEqual(
          summary.hypoglycemiaEvents && [summary.hypoglycemiaEvents.level1, summary.hypoglycemiaEvents.level2],
          reference.events && [...reference.events]
        )
        assert.deepStrictEqual(
          summary.agp!.map((bin) => [bin.minute, bin.n]),
          reference.agp.map((bin) => [bin.minute, bin.n])
        )
        summary.agp!.forEach((bin, index) => {
          const expected = reference.agp[index]!.percentiles
          ;[bin.p5, bin.p25, bin.p50, bin.p75, bin.p95].forEach((value, p) => {
            near(value, expected[p]!, 1, `agp ${bin.minute} p${p}`)
          })
        })
      }),
      { numRuns: 80 }
    )
  })
})
