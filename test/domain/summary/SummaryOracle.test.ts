import { type GlucosePoint, makeWindow } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import * as fc from "fast-check"
import { caseArbitrary } from "../../support/glucoseArbitraries.ts"
import {
  at,
  every,
  figuresOf,
  type OracleCase,
  oracleFigures,
  pythonOracle,
  summaryOf,
  times,
  windowOf
} from "../../support/glucoseSeries.ts"

if (!pythonOracle.available) console.warn(`[skip] glycemic summary vs the Python oracle: ${pythonOracle.reason}`)

/** A day in a zone: `values` every `step` seconds from `start`, the window the whole of them. */
const crafted = (zone: string, start: string, step: number, values: ReadonlyArray<number>): OracleCase => {
  const points = every(at(start), step, values)
  return {
    points,
    window: makeWindow(at(start), DateTime.add(points.at(-1)!.timestamp, { seconds: step })),
    zone
  }
}

const wave = (count: number, period: number, low: number, high: number) =>
  Array.from(
    { length: count },
    (_, i) => Math.round(low + ((high - low) * (1 + Math.sin((2 * Math.PI * i) / period))) / 2) | 0
  )

/** A 5-minute series over 90 days with two dips a day, as the benchmark's user has. */
const ninetyDays = (): OracleCase => {
  const start = at("2025-01-05T00:00:00Z")
  const points: Array<GlucosePoint> = every(start, 300, wave(25_920, 97, 45, 290))
  return { points, window: makeWindow(start, DateTime.add(start, { days: 90 })), zone: "Europe/Berlin" }
}

const CRAFTED: ReadonlyArray<[string, OracleCase]> = [
  ["an event of exactly 15 minutes", crafted("UTC", "2025-06-02T00:00:00Z", 300, [...times(12, 110), 65, 65, 65, 110])],
  [
    "14 minutes below on a 1-minute sensor",
    crafted("UTC", "2025-06-02T00:00:00Z", 60, [...times(30, 110), ...times(14, 50), 110])
  ],
  [
    "15 minutes below on a 1-minute sensor",
    crafted("UTC", "2025-06-02T00:00:00Z", 60, [...times(30, 110), ...times(15, 50), 110])
  ],
  ["a 15-minute sensor", crafted("Asia/Kolkata", "2025-06-02T00:00:00Z", 900, wave(96, 20, 40, 260))],
  [
    "a gap inside a low",
    {
      points: [
        ...every(at("2025-06-02T00:00:00Z"), 300, [...times(12, 120), 60, 60]),
        ...every(at("2025-06-02T01:15:00Z"), 300, [60, 60, 120, 120, 120, 60, 60, 60])
      ],
      window: windowOf("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z"),
      zone: "UTC"
    }
  ],
  ["spring forward in Berlin", crafted("Europe/Berlin", "2025-03-29T23:00:00Z", 300, wave(276, 50, 50, 250))],
  ["fall back in Berlin", crafted("Europe/Berlin", "2025-10-25T22:00:00Z", 300, wave(300, 50, 50, 250))],
  ["spring forward in New York", crafted("America/New_York", "2025-03-09T05:00:00Z", 300, wave(300, 40, 60, 200))],
  ["Lord Howe's half-hour shift", crafted("Australia/Lord_Howe", "2025-04-05T13:00:00Z", 300, wave(60, 24, 60, 200))],
  ["a half-hour zone", crafted("Asia/Kolkata", "2025-06-02T00:00:00Z", 300, wave(600, 37, 40, 300))],
  ["a 45-minute zone", crafted("Asia/Kathmandu", "2025-06-02T00:00:00Z", 300, wave(600, 37, 40, 300))],
  ["Chatham in summer, +13:45", crafted("Pacific/Chatham", "2025-01-10T00:00:00Z", 300, wave(600, 53, 40, 300))],
  ["two readings at a percentile half", crafted("UTC", "2025-06-02T00:00:00Z", 60, [101, 100])],
  ["no reading", { points: [], window: windowOf("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z"), zone: "UTC" }],
  ["one reading", crafted("UTC", "2025-06-02T00:00:00Z", 300, [66])]
]

describe("glycemic summary vs an independent implementation (numpy, zoneinfo)", () => {
  it.skipIf(!pythonOracle.available)("crafted series, figure for figure", () => {
    const expected = oracleFigures(CRAFTED.map(([, c]) => c))
    CRAFTED.forEach(([name, c], index) => {
      assert.deepStrictEqual(figuresOf(summaryOf(c.points, c.window, c.zone)), expected[index], name)
    })
  })

  it.skipIf(!pythonOracle.available)("90 days of 5-minute readings in Berlin, figure for figure", () => {
    const c = ninetyDays()
    const [expected] = oracleFigures([c])
    const actual = figuresOf(summaryOf(c.points, c.window, c.zone))
    assert.strictEqual(actual.readings, 25_920)
    assert.deepStrictEqual(actual, expected)
  })

  it.skipIf(!pythonOracle.available)("generated series in eight zones, figure for figure", () => {
    const seed = Date.now() ^ (Math.random() * 2 ** 31)
    const cases = fc.sample(caseArbitrary({ maxReadings: 600 }), { numRuns: 150, seed })
    const expected = oracleFigures(cases)
    cases.forEach((c, index) => {
      assert.deepStrictEqual(
        figuresOf(summaryOf(c.points, c.window, c.zone)),
        expected[index],
        `case ${index} of seed ${seed} (${c.zone}, ${c.points.length} readings)`
      )
    })
  })
})
