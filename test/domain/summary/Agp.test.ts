import { type GlucosePoint, percentile, zoneOffsets } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { at, every, seconds, summaryOf, times, windowOf } from "../../support/glucoseSeries.ts"

const YEAR = windowOf("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")

const point = (iso: string, glucoseMgDl = 100): GlucosePoint => ({ timestamp: at(iso), glucoseMgDl })

/** The AGP minute of each of `isos` in `zone`, one reading each. */
const minutesIn = (zone: string, isos: ReadonlyArray<string>) =>
  isos.map((iso) => summaryOf([point(iso)], YEAR, zone).agp![0]!.minute)

describe("AGP: percentiles", () => {
  it("interpolates linearly between order statistics, as numpy's default does", () => {
    const points = every(at("2025-06-02T00:00:00Z"), 60, [130, 100, 120, 110])
    // h = 3p: p5 at 0.15 → 100 + 0.15·10; p25 at 0.75; p50 at 1.5; p75 at 2.25; p95 at 2.85.
    assert.deepStrictEqual(summaryOf(points, YEAR).agp, [
      { minute: 0, n: 4, p5: 101.5, p25: 107.5, p50: 115, p75: 122.5, p95: 128.5 }
    ])
    assert.strictEqual(percentile([130, 100, 120, 110], 50), 115)
    assert.strictEqual(percentile([7], 95), 7)
  })

  it("rounds each percentile half up to one decimal from its exact value", () => {
    // Exactly 100.05, 100.25, 100.5, 100.75, 100.95. numpy holds 100.05 as 100.04999… and its round() answers 100.0
    // and 100.2 (half to even); half up from the exact values gives 100.1 and 100.3.
    assert.deepStrictEqual(summaryOf(every(at("2025-06-02T00:00:00Z"), 60, [101, 100]), YEAR).agp, [
      { minute: 0, n: 2, p5: 100.1, p25: 100.3, p50: 100.5, p75: 100.8, p95: 101 }
    ])
  })

  it("leaves out bins without readings and counts the readings of each", () => {
    const points = [point("2025-06-02T00:00:00Z"), point("2025-06-02T00:14:59Z"), point("2025-06-02T23:59:59Z")]
    const agp = summaryOf(points, YEAR).agp!
    assert.deepStrictEqual(
      agp.map((bin) => [bin.minute, bin.n]),
      [
        [0, 2],
        [1425, 1]
      ]
    )
  })
})

describe("AGP: local time of day in an IANA zone", () => {
  it("UTC bins start at whole quarter hours", () => {
    assert.deepStrictEqual(
      minutesIn("UTC", ["2025-06-02T00:14:59Z", "2025-06-02T00:15:00Z", "2025-06-02T13:44:00Z"]),
      [0, 15, 810]
    )
  })

  it("half-hour and 45-minute zones shift the bins by their offsets", () => {
    assert.deepStrictEqual(
      minutesIn("Asia/Kolkata", ["2025-06-02T00:00:00Z", "2025-06-02T18:29:59Z", "2025-06-02T18:30:00Z"]),
      [330, 1425, 0]
    )
    assert.deepStrictEqual(minutesIn("Asia/Kathmandu", ["2025-06-02T00:00:00Z"]), [345])
    assert.deepStrictEqual(minutesIn("Pacific/Chatham", ["2025-01-15T00:00:00Z"]), [825]) // +13:45 in summer
    assert.deepStrictEqual(minutesIn("America/St_Johns", ["2025-06-02T00:00:00Z"]), [1290]) // −02:30: 21:30
  })

  it("follows daylight saving time to the second, including Lord Howe's half-hour shift", () => {
    assert.deepStrictEqual(minutesIn("America/New_York", ["2025-03-09T06:59:59Z", "2025-03-09T07:00:00Z"]), [105, 180])
    assert.deepStrictEqual(
      minutesIn("Australia/Lord_Howe", ["2025-04-05T14:59:59Z", "2025-04-05T15:00:00Z"]),
      [105, 90]
    )
  })

  it("a 23-hour day (Berlin, 30 March 2025) has no readings from 02:00 to 03:00", () => {
    const day = windowOf("2025-03-29T23:00:00Z", "2025-03-30T22:00:00Z")
    const points = every(day.from, 300, times(23 * 12, 100))
    const agp = summaryOf(points, day, "Europe/Berlin").agp!
    assert.strictEqual(agp.length, 92)
    assert.deepStrictEqual(
      agp.filter((bin) => bin.minute >= 105 && bin.minute <= 180).map((bin) => bin.minute),
      [105, 180]
    )
    assert.isTrue(agp.every((bin) => bin.n === 3))
  })

  it("a 25-hour day (Berlin, 26 October 2025) puts twice the readings in 02:00–03:00", () => {
    const day = windowOf("2025-10-25T22:00:00Z", "2025-10-26T23:00:00Z")
    const points = every(day.from, 300, times(25 * 12, 100))
    const agp = summaryOf(points, day, "Europe/Berlin").agp!
    assert.strictEqual(agp.length, 96)
    assert.deepStrictEqual(
      agp.filter((bin) => bin.n !== 3).map((bin) => [bin.minute, bin.n]),
      [
        [120, 6],
        [135, 6],
        [150, 6],
        [165, 6]
      ]
    )
  })

  it("finds each transition of a zone to the second, once", () => {
    const offsets = zoneOffsets("Europe/Berlin", seconds(YEAR.from), seconds(YEAR.to))
    assert.deepStrictEqual(offsets.starts, [
      seconds(YEAR.from),
      seconds(at("2025-03-30T01:00:00Z")),
      seconds(at("2025-10-26T01:00:00Z"))
    ])
    assert.deepStrictEqual(offsets.offsets, [3600, 7200, 3600])
    assert.deepStrictEqual(zoneOffsets("Asia/Kathmandu", seconds(YEAR.from), seconds(YEAR.to)).offsets, [20_700])
  })
})
