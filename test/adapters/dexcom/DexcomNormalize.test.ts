import {
  DEXCOM_PROVIDER_ID,
  type DexcomEgvRecord,
  DexcomEgvsResponse,
  dexcomQueries,
  formatDexcomDate,
  normalizeEgvs,
  parseDexcomTime
} from "@bg-ingest/adapters"
import { makeWindow, Trends, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Option, Result, Schema } from "effect"

const user = UserId.make("u1")
const T = Date.UTC(2026, 1, 1, 8, 0, 0)
const window = makeWindow(DateTime.makeUnsafe(T - 86_400_000), DateTime.makeUnsafe(T + 86_400_000))

const record = (overrides: Partial<DexcomEgvRecord> = {}): DexcomEgvRecord => ({
  recordId: "r1",
  systemTime: "2026-02-01T08:00:00Z",
  displayTime: "2026-02-01T00:00:00-08:00",
  value: 110,
  status: null,
  trend: "flat",
  trendRate: -0.3,
  unit: "mg/dL",
  rateUnit: "mg/dL/min",
  ...overrides
})

const normalize = (records: ReadonlyArray<DexcomEgvRecord>, w = window) => {
  const result = normalizeEgvs(DEXCOM_PROVIDER_ID, user, records, w)
  if (Result.isFailure(result)) throw new Error(result.failure)
  return result.success
}
const only = (r: DexcomEgvRecord) => {
  const { readings } = normalize([r])
  assert.strictEqual(readings.length, 1)
  return readings[0]!
}
const millis = (reading: { timestamp: DateTime.Utc }) => DateTime.toEpochMillis(reading.timestamp)

describe("Dexcom time", () => {
  it("formats query dates in UTC without zone or milliseconds", () => {
    assert.strictEqual(formatDexcomDate(Date.UTC(2026, 0, 2, 3, 4, 5, 678)), "2026-01-02T03:04:05")
  })

  it("parses Z, zone-less (UTC), offsets with minutes or seconds, and fractions", () => {
    const at = (text: string) => DateTime.toEpochMillis(Option.getOrThrow(parseDexcomTime(text)))
    assert.strictEqual(at("2026-02-01T08:00:00Z"), T)
    assert.strictEqual(at("2026-02-01T08:00:00"), T)
    assert.strictEqual(at("2026-02-01T10:00:00+02:00"), T)
    assert.strictEqual(at("2026-02-01T01:00:01-06:59:59"), T)
    assert.strictEqual(at("2026-02-01T08:00:00.250Z"), T + 250)
  })

  it("rejects what is not a date-time", () => {
    for (const text of ["", "2026-02-30T08:00:00Z", "2026-02-01 08:00:00", "yesterday", "2026-02-01T24:00:00Z"]) {
      assert.isTrue(Option.isNone(parseDexcomTime(text)), text)
    }
  })

  it("covers a window with whole-second queries of at most 30 days", () => {
    const from = DateTime.makeUnsafe(T + 400)
    assert.deepStrictEqual(dexcomQueries(makeWindow(from, DateTime.makeUnsafe(T + 3_600_000 + 1))), [
      { startDate: "2026-02-01T08:00:00", endDate: "2026-02-01T09:00:01" }
    ])
    // Rounding a 30-day window out to whole seconds would exceed the limit: the extra second gets its own query.
    const thirtyDays = 30 * 86_400_000
    assert.deepStrictEqual(dexcomQueries(makeWindow(from, DateTime.makeUnsafe(T + 400 + thirtyDays))), [
      { startDate: "2026-02-01T08:00:00", endDate: "2026-03-03T08:00:00" },
      { startDate: "2026-03-03T08:00:00", endDate: "2026-03-03T08:00:01" }
    ])
  })
})

describe("normalizeEgvs", () => {
  it("takes systemTime as the instant, keeps displayTime verbatim and recordId as the source", () => {
    const reading = only(record({ displayTime: "2026-02-01T01:00:01-06:59:59" }))
    assert.strictEqual(millis(reading), T)
    assert.strictEqual(reading.displayTime, "2026-02-01T01:00:01-06:59:59")
    assert.deepStrictEqual(reading.source, { provider: DEXCOM_PROVIDER_ID, recordId: "r1" })
    assert.strictEqual(reading.userId, user)
    assert.strictEqual(reading.glucoseMgDl, 110)
    assert.strictEqual(reading.trendRate, -0.3)
    assert.strictEqual(reading.status, "ok")
  })

  it("reads zone-less (old format) times as UTC and truncates fractions to whole seconds", () => {
    assert.strictEqual(
      millis(only(record({ systemTime: "2026-02-01T08:00:00", displayTime: "2026-02-01T00:00:00" }))),
      T
    )
    assert.strictEqual(millis(only(record({ systemTime: "2026-02-01T08:00:00.999Z" }))), T)
  })

  it("counts and skips records without a value", () => {
    const result = normalize([
      record({ recordId: "a", value: null }),
      record({ recordId: "b", systemTime: "2026-02-01T08:05:00Z", value: undefined }),
      record({ recordId: "c", systemTime: "2026-02-01T08:10:00Z" })
    ])
    assert.strictEqual(result.skippedWithoutValue, 2)
    assert.deepStrictEqual(
      result.readings.map((r) => r.source.recordId),
      ["c"]
    )
  })

  it("converts mmol/L values and rates to mg/dL (integer values)", () => {
    const reading = only(record({ value: 6.1, unit: "mmol/L", trendRate: -0.3, rateUnit: "mmol/L/min" }))
    assert.strictEqual(reading.glucoseMgDl, 110) // 6.1 × 18.01559 = 109.9
    assert.strictEqual(reading.trendRate, -5.4) // −0.3 × 18.01559 = −5.40
    // A rate unit left out follows the value's unit.
    assert.strictEqual(only(record({ value: 5, unit: "mmol/L", trendRate: 0.1, rateUnit: null })).trendRate, 1.8)
    // Units are matched without regard to case.
    assert.strictEqual(only(record({ value: 10, unit: "MMOL/L", rateUnit: "MMOL/L/MIN" })).glucoseMgDl, 180)
  })

  it("keeps high and low statuses with the clamped value", () => {
    assert.deepStrictEqual(
      [
        only(record({ value: 400, status: "high", trend: "rateOutOfRange", trendRate: null })),
        only(record({ value: 40, status: "low" }))
      ].map((r) => [r.glucoseMgDl, r.status, r.trendRate]),
      [
        [400, "high", null],
        [40, "low", -0.3]
      ]
    )
    assert.strictEqual(only(record({ status: "unknown" })).status, "unknown")
    assert.strictEqual(only(record({ status: "OK" })).status, "ok")
    assert.strictEqual(only(record({ status: "calibrating" })).status, "unknown")
  })

  it("maps every trend, whatever its case, and anything else to unknown", () => {
    for (const trend of Trends) {
      assert.strictEqual(only(record({ trend })).trend, trend)
      assert.strictEqual(only(record({ trend: trend.toUpperCase() })).trend, trend)
    }
    assert.strictEqual(only(record({ trend: null })).trend, "unknown")
    assert.strictEqual(only(record({ trend: "sideways" })).trend, "unknown")
  })

  it("rejects values outside the glucose range, counted with their record id, and keeps the others", () => {
    const result = normalize([
      record({ recordId: "too-high", value: 900 }),
      record({ recordId: "too-low", systemTime: "2026-02-01T08:05:00Z", value: 5 }),
      record({ recordId: "mmol-as-mgdl", systemTime: "2026-02-01T08:10:00Z", value: 6.1 }),
      record({ recordId: "fine", systemTime: "2026-02-01T08:15:00Z", value: 95 })
    ])
    assert.deepStrictEqual(
      result.rejected.map((r) => r.recordId),
      ["too-high", "too-low", "mmol-as-mgdl"]
    )
    assert.deepStrictEqual(
      result.readings.map((r) => [r.source.recordId, r.glucoseMgDl]),
      [["fine", 95]]
    )
  })

  it("answers readings oldest first whatever the order of the records, one per instant", () => {
    const times = ["08:10", "08:00", "08:05", "08:00"]
    const records = times.map((time, i) =>
      record({ recordId: i === 3 ? "z-later-version" : `r${i}`, systemTime: `2026-02-01T${time}:00Z`, value: 100 + i })
    )
    const forward = normalize(records).readings
    const backward = normalize([...records].reverse()).readings
    assert.deepStrictEqual(
      forward.map((r) => [millis(r) - T, r.glucoseMgDl]),
      [
        [0, 103],
        [300_000, 102],
        [600_000, 100]
      ]
    )
    assert.deepStrictEqual(
      backward.map((r) => r.glucoseMgDl),
      forward.map((r) => r.glucoseMgDl)
    )
  })

  it("keeps only records inside the window, from inclusive, to exclusive", () => {
    const w = makeWindow(DateTime.makeUnsafe(T), DateTime.makeUnsafe(T + 600_000))
    const result = normalize(
      ["07:59:59", "08:00:00", "08:09:59", "08:10:00"].map((time) =>
        record({ recordId: time, systemTime: `2026-02-01T${time}Z` })
      ),
      w
    )
    assert.deepStrictEqual(
      result.readings.map((r) => r.source.recordId),
      ["08:00:00", "08:09:59"]
    )
  })

  it("fails on a record it cannot read at all: a bad time or an unknown unit", () => {
    const bad = (r: DexcomEgvRecord) => normalizeEgvs(DEXCOM_PROVIDER_ID, user, [record(), r], window)
    assert.isTrue(Result.isFailure(bad(record({ systemTime: "not a time" }))))
    assert.isTrue(Result.isFailure(bad(record({ unit: "mg/L" }))))
  })
})

describe("DexcomEgvsResponse", () => {
  const decode = Schema.decodeUnknownResult(Schema.fromJsonString(DexcomEgvsResponse))

  it("ignores unknown fields and fields it does not need", () => {
    const body = JSON.stringify({
      recordType: "egv",
      recordVersion: "3.0",
      userId: "x",
      somethingNew: { nested: true },
      records: [{ ...record(), transmitterTicks: 5, displayApp: "G7", smoothedValue: "n/a", "x-extra": [1] }]
    })
    const decoded = decode(body)
    assert.isTrue(Result.isSuccess(decoded))
    if (Result.isSuccess(decoded)) assert.strictEqual(decoded.success.records[0]?.value, 110)
  })

  it("refuses a body of another shape", () => {
    for (const body of [
      "",
      "<html>",
      "{}",
      '{"records": {}}',
      '{"records": [{"value": 1}]}',
      '{"records":[{"systemTime":"x","value":"110"}]}'
    ]) {
      assert.isTrue(Result.isFailure(decode(body)), body)
    }
  })
})

describe("normalizeEgvs counts", () => {
  it("counts a repeated record once, and an instant with a valid reading neither as skipped nor rejected", () => {
    const result = normalize([
      record({ recordId: "n", systemTime: "2026-02-01T08:00:00Z", value: null }),
      record({ recordId: "n", systemTime: "2026-02-01T08:00:00Z", value: null }),
      record({ recordId: "x", systemTime: "2026-02-01T08:05:00Z", value: 900 }),
      record({ recordId: "x", systemTime: "2026-02-01T08:05:00Z", value: 900 }),
      record({ recordId: "v0", systemTime: "2026-02-01T08:10:00Z", value: null }),
      record({ recordId: "v1", systemTime: "2026-02-01T08:10:00.500Z", value: 120 })
    ])
    assert.strictEqual(result.skippedWithoutValue, 1)
    assert.strictEqual(result.rejected.length, 1)
    assert.deepStrictEqual(
      result.readings.map((r) => [r.source.recordId, r.glucoseMgDl]),
      [["v1", 120]]
    )
  })
})
