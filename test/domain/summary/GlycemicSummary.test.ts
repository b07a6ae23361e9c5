import { mostCommonGap } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { at, every, summaryOf, times, windowOf } from "../../support/glucoseSeries.ts"

const DAY = windowOf("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z")
const START = at("2025-06-02T00:00:00Z")

describe("glycemic summary: hand-computed figures", () => {
  it("bins integer mg/dL at the consensus bounds: <54, 54–69, 70–180, 181–250, >250, tight 70–140", () => {
    // 20 readings, 5 % each.
    const values = [20, 53, 54, 69, 70, 100, 140, 141, 180, 181, 200, 250, 251, 400, 600, 55, 60, 75, 130, 145]
    const summary = summaryOf(every(START, 300, values), DAY)
    assert.deepStrictEqual(summary.timeInRange, {
      veryLowPercent: 10, // 20, 53
      lowPercent: 20, // 54, 69, 55, 60
      targetPercent: 40, // 70, 100, 140, 141, 180, 75, 130, 145
      highPercent: 15, // 181, 200, 250
      veryHighPercent: 15, // 251, 400, 600
      tightTargetPercent: 25 // 70, 100, 140, 75, 130
    })
  })

  it("rounds a percentage half up from its exact value (23 of 2,000 is 1.15 %, which floating point puts below)", () => {
    assert.strictEqual(((100 * 23) / 2000).toFixed(1), "1.1") // the naive rounding this must not do
    const values = [...times(23, 50), ...times(1977, 120)]
    const summary = summaryOf(every(START, 30, values), DAY)
    assert.strictEqual(summary.timeInRange!.veryLowPercent, 1.2)
    assert.strictEqual(summary.timeInRange!.targetPercent, 98.9) // 98.85
  })

  it("mean, sample SD, CV and GMI of two readings", () => {
    const summary = summaryOf(every(START, 300, [100, 200]), DAY)
    assert.strictEqual(summary.meanMgDl, 150)
    assert.strictEqual(summary.sdMgDl, 70.7) // √((50² + 50²) / 1) = 70.71
    assert.strictEqual(summary.cvPercent, 47.1) // 100 · 70.71 / 150 = 47.14
    assert.strictEqual(summary.gmiPercent, 6.9) // 3.31 + 0.02392 · 150 = 6.898
  })

  it("rounds mean, SD, CV and GMI half up from exact values", () => {
    // mean 100.25; sample variance (3 · 0.25² + 0.75²) / 3 = 0.25, so SD 0.5; CV 0.4988; GMI 5.70798.
    const summary = summaryOf(every(START, 300, [100, 100, 100, 101]), DAY)
    assert.strictEqual(summary.meanMgDl, 100.3)
    assert.strictEqual(summary.sdMgDl, 0.5)
    assert.strictEqual(summary.cvPercent, 0.5)
    assert.strictEqual(summary.gmiPercent, 5.71)
    // GMI exactly at a half: a mean of 59,875 / 598 gives 3.31 + 2.395 = 5.705.
    assert.strictEqual(summaryOf(every(START, 60, [...times(523, 100), ...times(75, 101)]), DAY).gmiPercent, 5.71)
  })

  it("the SD of identical readings is 0 and so is the CV", () => {
    const summary = summaryOf(every(START, 300, times(12, 123)), DAY)
    assert.strictEqual(summary.sdMgDl, 0)
    assert.strictEqual(summary.cvPercent, 0)
  })

  it("active time: readings × the most common gap over the window, at most 100", () => {
    assert.strictEqual(summaryOf(every(START, 300, times(288, 110)), DAY).activePercent, 100)
    assert.strictEqual(summaryOf(every(START, 300, times(144, 110)), DAY).activePercent, 50)
    // 100 readings × 5 min / 1 day = 34.72 %
    assert.strictEqual(summaryOf(every(START, 300, times(100, 110)), DAY).activePercent, 34.7)
    // Readings every 5 minutes for 2 hours in a 1-hour window: only the window's own are counted.
    const hour = windowOf("2025-06-02T00:00:00Z", "2025-06-02T01:00:00Z")
    assert.strictEqual(summaryOf(every(START, 300, times(24, 110)), hour).readings, 12)
    assert.strictEqual(summaryOf(every(START, 300, times(24, 110)), hour).activePercent, 100)
    // A 1-minute sensor: 1,440 readings a day.
    assert.strictEqual(summaryOf(every(START, 60, times(720, 110)), DAY).activePercent, 50)
  })

  it("the interval is the most common gap, the smaller on a tie", () => {
    assert.strictEqual(mostCommonGap([0, 300, 600, 660, 720], 5), 60) // 300 ×2, 60 ×2
    assert.strictEqual(mostCommonGap([0, 300, 600, 900, 960], 5), 300)
    assert.strictEqual(mostCommonGap([0, 299, 600, 901], 4), 301) // 299 ×1, 301 ×2
    assert.strictEqual(mostCommonGap([0], 1), null)
  })

  it("readings outside [from, to) are not counted: from inclusive, to exclusive", () => {
    const points = every(at("2025-06-01T23:55:00Z"), 300, times(290, 100)) // 23:55 the day before … 00:00 after
    assert.strictEqual(summaryOf(points, DAY).readings, 288)
  })

  it("no reading: readings 0 and every other figure null", () => {
    const summary = summaryOf([], DAY, "Europe/Berlin")
    assert.deepStrictEqual(
      { ...summary, from: null, to: null },
      {
        from: null,
        to: null,
        timeZone: "Europe/Berlin",
        readings: 0,
        intervalSeconds: null,
        activePercent: null,
        meanMgDl: null,
        sdMgDl: null,
        cvPercent: null,
        gmiPercent: null,
        timeInRange: null,
        rangeCounts: null,
        hypoglycemiaEvents: null,
        agp: null
      }
    )
  })

  it("one reading: what needs a gap (interval, active time, events) or two readings (SD, CV) is null", () => {
    const summary = summaryOf(every(START, 300, [65]), DAY)
    assert.strictEqual(summary.readings, 1)
    assert.strictEqual(summary.meanMgDl, 65)
    assert.strictEqual(summary.gmiPercent, 4.86) // 3.31 + 1.5548
    assert.strictEqual(summary.timeInRange!.lowPercent, 100)
    assert.isNull(summary.intervalSeconds)
    assert.isNull(summary.activePercent)
    assert.isNull(summary.sdMgDl)
    assert.isNull(summary.cvPercent)
    assert.isNull(summary.hypoglycemiaEvents)
    assert.deepStrictEqual(summary.agp, [{ minute: 0, n: 1, p5: 65, p25: 65, p50: 65, p75: 65, p95: 65 }])
  })

  it("answers the zone as given (zone names match whatever their case)", () => {
    assert.strictEqual(summaryOf([], DAY, "Asia/Kolkata").timeZone, "Asia/Kolkata")
    const lower = summaryOf(every(at("2025-06-02T00:00:00Z"), 300, [100]), DAY, "asia/kolkata")
    assert.strictEqual(lower.timeZone, "asia/kolkata")
    assert.strictEqual(lower.agp![0]!.minute, 330)
  })
})
