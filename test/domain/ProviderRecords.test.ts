import {
  glucoseStatusFromName,
  makeWindow,
  normalizeRecords,
  ProviderId,
  type Reading,
  RecordReading,
  Trends,
  trendFromName,
  trendFromNumber,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Order, Result } from "effect"
import fc from "fast-check"

const provider = ProviderId.make("test-provider")
const userId = UserId.make("u1")
const T = Date.UTC(2026, 5, 1, 12, 0, 0)
const window = makeWindow(DateTime.makeUnsafe(T), DateTime.makeUnsafe(T + 3_600_000))

/** A provider's record in the simplest shape: when, what, and an id. */
interface Row {
  readonly at: number
  readonly value?: number | null
  readonly id?: string
  readonly unreadable?: boolean
}

const read = (row: Row): RecordReading =>
  row.unreadable
    ? RecordReading.unreadable(`row ${row.id ?? "?"} cannot be read`)
    : row.value === null || row.value === undefined
      ? RecordReading.withoutValue(DateTime.makeUnsafe(row.at))
      : RecordReading.measurement({
          instant: DateTime.makeUnsafe(row.at),
          mgDl: row.value,
          trend: "flat",
          trendRate: null,
          status: "ok",
          recordId: row.id ?? null,
          displayTime: null
        })

const byId: Order.Order<Reading> = Order.mapInput(Order.String, (reading: Reading) => reading.source.recordId ?? "")

const normalize = (rows: ReadonlyArray<Row>) =>
  Result.getOrThrow(normalizeRecords(rows, { provider, userId, window, read, prefer: byId }))

describe("normalizeRecords", () => {
  it("keeps the window [from, to), rounds values, and answers oldest first with the provider as source", () => {
    const result = normalize([
      { at: T + 600_000, value: 120.4, id: "b" },
      { at: T - 1, value: 100, id: "before" },
      { at: T, value: 99.5, id: "a" },
      { at: T + 3_600_000, value: 100, id: "at-to" }
    ])
    assert.deepStrictEqual(
      result.readings.map((reading) => [DateTime.toEpochMillis(reading.timestamp) - T, reading.glucoseMgDl]),
      [
        [0, 100],
        [600_000, 120]
      ]
    )
    assert.deepStrictEqual(result.readings[0]?.source, { provider, recordId: "a" })
    assert.strictEqual(result.readings[0]?.userId, userId)
  })

  it("counts instants without a value and rejects impossible values, once per instant, never where a reading is", () => {
    const result = normalize([
      { at: T, value: null },
      { at: T + 400, value: null },
      { at: T + 300_000, value: 19.4, id: "low" },
      { at: T + 300_000, value: 19.4, id: "low" },
      { at: T + 600_000, value: 601, id: "high" },
      { at: T + 900_000, value: null },
      { at: T + 900_000, value: 700, id: "x" },
      { at: T + 900_500, value: 150, id: "ok" }
    ])
    assert.strictEqual(result.skippedWithoutValue, 1)
    assert.deepStrictEqual(result.rejected, [
      { recordId: "low", instant: new Date(T + 300_000).toISOString(), reason: "value outside 20–600 mg/dL" },
      { recordId: "high", instant: new Date(T + 600_000).toISOString(), reason: "value outside 20–600 mg/dL" }
    ])
    assert.deepStrictEqual(
      result.readings.map((reading) => [reading.source.recordId, reading.glucoseMgDl]),
      [["ok", 150]]
    )
  })

  it("keeps the preferred reading of an instant whatever the order of the records", () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(
          ["a", "b", "c", "d"].map((id, index) => ({ at: T + 60_000 + index * 100, value: 100 + index, id })),
          { minLength: 1 }
        ),
        (rows) => {
          const kept = normalize(rows).readings
          assert.strictEqual(kept.length, 1)
          const best = [...rows].sort((a, b) => (a.id < b.id ? 1 : -1))[0]!
          assert.deepStrictEqual([kept[0]?.source.recordId, kept[0]?.glucoseMgDl], [best.id, best.value])
        }
      )
    )
  })

  it("rejects records at instants outside 1970–9999, even in a window as wide as a pushed body's", () => {
    const everything = makeWindow(DateTime.makeUnsafe(-8.64e15), DateTime.makeUnsafe(8.64e15))
    const result = Result.getOrThrow(
      normalizeRecords(
        [
          { at: Date.UTC(10000, 0, 1), value: 100, id: "year-10000" },
          { at: Date.UTC(-1, 11, 31), value: 100, id: "year-minus-1" },
          { at: T, value: 100, id: "ok" }
        ],
        { provider, userId, window: everything, read, prefer: byId }
      )
    )
    assert.deepStrictEqual(
      result.readings.map((reading) => reading.source.recordId),
      ["ok"]
    )
    assert.deepStrictEqual(
      result.rejected.map((record) => [record.recordId, record.reason]),
      [
        ["year-10000", "instant outside 1970–9999"],
        ["year-minus-1", "instant outside 1970–9999"]
      ]
    )
  })

  it("fails on a record it cannot read, even outside the window", () => {
    const result = normalizeRecords(
      [
        { at: T, value: 100 },
        { at: T - 86_400_000, id: "r9", unreadable: true }
      ],
      {
        provider,
        userId,
        window,
        read,
        prefer: byId
      }
    )
    assert.deepStrictEqual(result, Result.fail("row r9 cannot be read"))
  })
})

describe("trend and status names", () => {
  it("reads trend names in any case and Dexcom's trend numbers; anything else is unknown", () => {
    for (const trend of Trends) assert.strictEqual(trendFromName(trend.toUpperCase()), trend)
    assert.deepStrictEqual(["sideways", "", null, undefined].map(trendFromName), [
      "unknown",
      "unknown",
      "unknown",
      "unknown"
    ])
    assert.deepStrictEqual([0, 1, 4, 7, 8, 9, 10, -1, 2.5].map(trendFromNumber), [
      "none",
      "doubleUp",
      "flat",
      "doubleDown",
      "notComputable",
      "rateOutOfRange",
      "unknown",
      "unknown",
      "unknown"
    ])
  })

  it("reads statuses in any case; anything else is unknown", () => {
    assert.deepStrictEqual(["OK", "High", "low", "unknown", "calibrating"].map(glucoseStatusFromName), [
      "ok",
      "high",
      "low",
      "unknown",
      "unknown"
    ])
  })
})
