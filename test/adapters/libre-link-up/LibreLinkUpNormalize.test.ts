import {
  LIBRE_LINK_UP_PROVIDER_ID,
  type LibreGraph,
  libreDisplayTime,
  libreTrend,
  normalizeLibreGraph,
  parseLibreTime,
  reconcileWithStored
} from "@bg-ingest/adapters/libre-link-up"
import { makeReading, makeWindow, type Reading, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Option, Result } from "effect"
import {
  type ExpectedLibreReading,
  expectedLibre,
  isStorable,
  type LibreMeasurement,
  type LibreUnit,
  libreItemJson,
  libreLocalTime,
  libreSensor
} from "../../fakes/libreRecords.ts"

const alice = UserId.make("alice")
const MINUTE = 60_000

const window = (from: number, to: number) => makeWindow(DateTime.makeUnsafe(from), DateTime.makeUnsafe(to))

const asExpected = (reading: Reading): ExpectedLibreReading => ({
  epochSeconds: DateTime.toEpochMillis(reading.timestamp) / 1000,
  glucoseMgDl: reading.glucoseMgDl,
  trend: reading.trend,
  status: reading.status as ExpectedLibreReading["status"],
  displayTime: reading.displayTime
})

/** A graph answer as the fake serves it: the history points, and the current reading twice (item and measurement). */
const graphOf = (
  history: ReadonlyArray<LibreMeasurement>,
  current: LibreMeasurement | undefined,
  zone: string,
  unit: LibreUnit = "mg/dL"
): LibreGraph => {
  const item = current === undefined ? null : libreItemJson(current, { zone, unit, type: 1 })
  return {
    connection: {
      patientId: "p-1",
      firstName: "Ada",
      lastName: "Example",
      glucoseMeasurement: item,
      glucoseItem: item
    },
    graphData: history.map((point) => libreItemJson(point, { zone, unit, type: 0 }))
  }
}

const normalize = (graph: LibreGraph, from: number, to: number) =>
  Result.getOrThrow(normalizeLibreGraph(LIBRE_LINK_UP_PROVIDER_ID, alice, graph, window(from, to)))

describe("LibreLinkUp times", () => {
  it("reads M/D/YYYY h:mm:ss AM as the wall clock it writes, counted as UTC", () => {
    const cases: ReadonlyArray<readonly [string, number]> = [
      ["11/3/2024 2:05:17 AM", Date.UTC(2024, 10, 3, 2, 5, 17)],
      ["11/3/2024 12:05:00 AM", Date.UTC(2024, 10, 3, 0, 5, 0)],
      ["11/3/2024 12:05:00 PM", Date.UTC(2024, 10, 3, 12, 5, 0)],
      ["1/1/2026 11:59:59 PM", Date.UTC(2026, 0, 1, 23, 59, 59)],
      ["12/31/2025 1:00:00 PM", Date.UTC(2025, 11, 31, 13, 0, 0)],
      ["2/29/2028 6:30:01 AM", Date.UTC(2028, 1, 29, 6, 30, 1)],
      [" 5/21/2022 1:38:50 PM ", Date.UTC(2022, 4, 21, 13, 38, 50)],
      ["05/01/2022 01:38:50 pm", Date.UTC(2022, 4, 1, 13, 38, 50)]
    ]
    for (const [text, millis] of cases) assert.strictEqual(Option.getOrThrow(parseLibreTime(text)), millis, text)
  })

  it("refuses what is not such a time, or names a day or an hour that does not exist", () => {
    for (const text of [
      "",
      "2024-11-03T02:05:17Z",
      "11/3/2024 2:05:17",
      "11/3/2024 2:5:17 AM",
      "11/3/2024 0:05:17 AM",
      "11/3/2024 13:05:17 PM",
      "13/3/2024 2:05:17 AM",
      "0/3/2024 2:05:17 AM",
      "2/30/2026 2:05:17 AM",
      "2/29/2026 2:05:17 AM",
      "11/3/2024 2:60:17 AM",
      "11/3/2024 2:05:60 AM",
      "11/3/24 2:05:17 AM"
    ]) {
      assert.isTrue(Option.isNone(parseLibreTime(text)), text)
    }
  })

  it("writes the display time with the offset between the phone's clock and the instant", () => {
    const instant = Date.UTC(2024, 10, 3, 2, 5, 17)
    assert.strictEqual(libreDisplayTime(instant, instant - 4 * 3_600_000), "2024-11-02T22:05:17-04:00")
    assert.strictEqual(libreDisplayTime(instant, instant + 345 * MINUTE), "2024-11-03T07:50:17+05:45")
    assert.strictEqual(libreDisplayTime(instant, instant), "2024-11-03T02:05:17+00:00")
    assert.isNull(libreDisplayTime(instant, instant + 30_000), "not a whole minute")
    assert.isNull(libreDisplayTime(instant, instant + 15 * 3_600_000), "beyond any zone")
  })
})

describe("LibreLinkUp trends", () => {
  it("maps the five arrows, and no arrow to notComputable; never invents a rate", () => {
    assert.deepStrictEqual([1, 2, 3, 4, 5, 0, null, undefined, 6, -1].map(libreTrend), [
      "singleDown",
      "fortyFiveDown",
      "flat",
      "fortyFiveUp",
      "singleUp",
      "notComputable",
      "notComputable",
      "notComputable",
      "unknown",
      "unknown"
    ])
  })
})

/**
 * The sensor around a DST change of the patient's zone, every history point and the current reading normalized,
 * compared with the oracle (instants from the measurements, offsets from `Intl`).
 */
const acrossChange = (zone: string, changeUtc: number, unit: LibreUnit = "mg/dL") => {
  const start = changeUtc - 3 * 3_600_000 + 17_000
  const sensor = libreSensor({ start, count: 6 * 60, nullEvery: 11, highLowEvery: 13, impossibleEvery: 17 })
  const current = sensor.minutes.at(-1)!
  const history = sensor.history.filter((point) => point.epochMillis < current.epochMillis - 15 * MINUTE)
  const normalized = normalize(graphOf(history, current, zone, unit), start - MINUTE, current.epochMillis + MINUTE)
  const expected = [
    ...history.filter(isStorable).map((point) => expectedLibre(point, "history", zone)),
    expectedLibre(current, "current", zone)
  ]
  return { history, current, normalized, expected }
}

describe("normalizing a graph against the oracle", () => {
  it("a fall-back in New York: the local hour repeats, every instant stays the factory's", () => {
    const { history, normalized, expected } = acrossChange("America/New_York", Date.UTC(2026, 10, 1, 6, 0, 0))
    assert.deepStrictEqual(
      normalized.readings.map((r) => asExpected(r.reading)),
      expected
    )
    const locals = history.map((point) => libreLocalTime(point.epochMillis, "America/New_York"))
    const hours = locals.map((text) => text.replace(/:\d\d:\d\d /, " "))
    assert.isBelow(new Set(hours).size, hours.length - 10, "an hour of local times repeats")
    const offsets = new Set(normalized.readings.map((r) => r.reading.displayTime!.slice(-6)))
    assert.deepStrictEqual([...offsets], ["-04:00", "-05:00"])
    assert.strictEqual(normalized.skippedWithoutValue, history.filter((p) => p.valueMgDl === null).length)
    assert.strictEqual(normalized.rejected.length, history.filter((p) => p.valueMgDl === 900).length)
  })

  it("a spring-forward in New York: an hour of local times never exists, no reading moves", () => {
    const { normalized, expected } = acrossChange("America/New_York", Date.UTC(2026, 2, 8, 7, 0, 0), "mmol/L")
    assert.deepStrictEqual(
      normalized.readings.map((r) => asExpected(r.reading)),
      expected
    )
    const offsets = new Set(normalized.readings.map((r) => r.reading.displayTime!.slice(-6)))
    assert.deepStrictEqual([...offsets], ["-05:00", "-04:00"])
  })

  it("Lord Howe's half-hour DST and Kathmandu's +05:45 give their own offsets, and the same instants", () => {
    const lordHowe = acrossChange("Australia/Lord_Howe", Date.UTC(2026, 3, 4, 15, 0, 0))
    assert.deepStrictEqual(
      lordHowe.normalized.readings.map((r) => asExpected(r.reading)),
      lordHowe.expected
    )
    assert.deepStrictEqual(
      [...new Set(lordHowe.normalized.readings.map((r) => r.reading.displayTime!.slice(-6)))],
      ["+11:00", "+10:30"]
    )
    const kathmandu = acrossChange("Asia/Kathmandu", Date.UTC(2026, 3, 4, 15, 0, 0))
    assert.deepStrictEqual(
      kathmandu.normalized.readings.map((r) => asExpected(r.reading)),
      kathmandu.expected
    )
    assert.deepStrictEqual(
      kathmandu.normalized.readings.map((r) => r.reading.timestamp),
      lordHowe.normalized.readings.map((r) => r.reading.timestamp)
    )
  })

  it("an mmol/L patient's Value is ignored: ValueInMgPerDl is the value", () => {
    const sensor = libreSensor({ start: Date.UTC(2026, 0, 5, 10, 0, 40), count: 60 })
    const current = sensor.minutes.at(-1)!
    const graph = graphOf(sensor.history.slice(0, 6), current, "Europe/Berlin", "mmol/L")
    assert.strictEqual(graph.connection?.glucoseMeasurement?.ValueInMgPerDl, current.valueMgDl)
    const values = normalize(graph, 0, Date.UTC(2027, 0, 1)).readings.map((r) => r.reading.glucoseMgDl)
    assert.deepStrictEqual(values, [...sensor.history.slice(0, 6).map((p) => p.valueMgDl), current.valueMgDl])
    assert.isTrue(values.every((value) => Number.isInteger(value) && value > 30))
  })

  it("keeps only the window, and fails when a FactoryTimestamp cannot be read", () => {
    const sensor = libreSensor({ start: Date.UTC(2026, 0, 5, 10, 0, 40), count: 120 })
    const graph = graphOf(sensor.history, undefined, "UTC")
    const from = sensor.history[5]!.epochMillis
    const to = sensor.history[10]!.epochMillis
    const inside = normalize(graph, from, to).readings.map((r) => DateTime.toEpochMillis(r.reading.timestamp))
    assert.deepStrictEqual(
      inside,
      sensor.history.slice(5, 10).map((p) => p.epochMillis)
    )
    const broken = { ...graph, graphData: [...(graph.graphData ?? []), { FactoryTimestamp: "2026-01-05T10:00:40Z" }] }
    const failed = normalizeLibreGraph(LIBRE_LINK_UP_PROVIDER_ID, alice, broken, window(0, Date.UTC(2027, 0, 1)))
    assert.isTrue(Result.isFailure(failed))
    assert.include(Result.isFailure(failed) ? failed.failure : "", "unreadable FactoryTimestamp")
  })
})

describe("one reading per sensor measurement", () => {
  const T = Date.UTC(2026, 5, 1, 12, 0, 41)
  const measurement = (epochMillis: number, valueMgDl: number, trendArrow: number | null): LibreMeasurement => ({
    epochMillis,
    valueMgDl,
    trendArrow,
    isHigh: false,
    isLow: false
  })

  it("the current reading repeated as glucoseItem and glucoseMeasurement is one reading", () => {
    const normalized = normalize(graphOf([], measurement(T, 120, 3), "UTC"), T - MINUTE, T + MINUTE)
    assert.deepStrictEqual(
      normalized.readings.map((r) => asExpected(r.reading)),
      [expectedLibre(measurement(T, 120, 3), "current", "UTC")]
    )
  })

  it("a history point 1 s from the current reading in the same answer: one reading, the history's value, the arrow", () => {
    const current = measurement(T, 120, 4)
    const point = measurement(T - 1000, 117, null)
    const normalized = normalize(graphOf([point], current, "UTC"), T - MINUTE, T + MINUTE)
    assert.deepStrictEqual(
      normalized.readings.map((r) => asExpected(r.reading)),
      [{ ...expectedLibre(point, "history", "UTC", current), trend: "fortyFiveUp" }]
    )
    // A minute apart, they are two measurements.
    const apart = normalize(graphOf([measurement(T - MINUTE, 117, null)], current, "UTC"), T - 2 * MINUTE, T + MINUTE)
    assert.strictEqual(apart.readings.length, 2)
  })

  it("a history point lands on the current reading stored 15 minutes earlier: that reading is updated, not doubled", () => {
    const current = measurement(T, 120, 3)
    const storedCurrent = makeReading({
      userId: alice,
      timestamp: DateTime.makeUnsafe(T),
      glucoseMgDl: 120,
      trend: "flat",
      source: { provider: LIBRE_LINK_UP_PROVIDER_ID, recordId: null },
      displayTime: "2026-06-01T14:00:41+02:00"
    })
    const later = [measurement(T - 2000, 118, null), measurement(T + 5 * MINUTE - 1000, 125, null)]
    const graph = graphOf(later, measurement(T + 20 * MINUTE, 130, 4), "Europe/Paris")
    const { readings } = normalize(graph, T - 12 * 60 * MINUTE, T + 21 * MINUTE)
    const placed = reconcileWithStored(readings, [storedCurrent], window(T - 12 * 60 * MINUTE, T + 21 * MINUTE))
    assert.deepStrictEqual(placed.map(asExpected), [
      { ...expectedLibre(later[0]!, "history", "Europe/Paris", current), trend: "flat" },
      expectedLibre(later[1]!, "history", "Europe/Paris"),
      expectedLibre(measurement(T + 20 * MINUTE, 130, 4), "current", "Europe/Paris")
    ])
    // A window that ends between the two: the point is not stored again a second away from its stored twin.
    const before = window(T - 12 * 60 * MINUTE, T - 500)
    const edge = normalize(graph, T - 12 * 60 * MINUTE, T - 500).readings
    assert.strictEqual(edge.length, 1)
    assert.deepStrictEqual(reconcileWithStored(edge, [storedCurrent], before), [])
  })

  it("at the very instant of a stored reading: the history's value, the stored arrow; else the newest answer's", () => {
    const stored = makeReading({
      userId: alice,
      timestamp: DateTime.makeUnsafe(T),
      glucoseMgDl: 120,
      trend: "flat",
      source: { provider: LIBRE_LINK_UP_PROVIDER_ID, recordId: null },
      displayTime: null
    })
    const around = window(T - MINUTE, T + MINUTE)
    const history = normalize(graphOf([measurement(T, 118, null)], undefined, "UTC"), T - MINUTE, T + MINUTE)
    assert.deepInclude(reconcileWithStored(history.readings, [stored], around)[0], { glucoseMgDl: 118, trend: "flat" })
    // The phone was away: the stale current reading and its history point in one answer, then matched to the
    // reading stored when that current reading was new. The newer answer's value (the history's) stays.
    const away = normalize(
      graphOf([measurement(T - 1000, 117, null)], measurement(T, 120, 3), "UTC"),
      T - MINUTE,
      T + MINUTE
    )
    assert.deepInclude(reconcileWithStored(away.readings, [stored], around)[0], { glucoseMgDl: 117, trend: "flat" })
  })
})
