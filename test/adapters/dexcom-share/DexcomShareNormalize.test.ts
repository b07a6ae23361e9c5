import {
  classifyLoginRefusal,
  DEXCOM_SHARE_PROVIDER_ID,
  formatShareDisplayTime,
  normalizeShareValues,
  parseShareDate,
  type ShareGlucoseValue,
  ShareGlucoseValues,
  shareMinutes,
  shareStatus,
  shareTrend
} from "@bg-ingest/adapters/dexcom-share"
import { makeWindow, type Reading, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Option, Result, Schema } from "effect"
import {
  type ExpectedShareReading,
  impossibleShareRecord,
  shareSeries,
  shareValueJson
} from "../../fakes/shareRecords.ts"

const alice = UserId.make("alice")
const T = Date.UTC(2026, 3, 19, 16, 10, 55)

const window = (from: number, to: number) => makeWindow(DateTime.makeUnsafe(from), DateTime.makeUnsafe(to))
const decodeBody = Schema.decodeUnknownSync(Schema.fromJsonString(ShareGlucoseValues))

const normalize = (values: ReadonlyArray<ShareGlucoseValue>, from = T - 86_400_000, to = T + 86_400_000) =>
  Result.getOrThrow(normalizeShareValues(DEXCOM_SHARE_PROVIDER_ID, alice, values, window(from, to)))

const asExpected = (reading: Reading): ExpectedShareReading => ({
  epochSeconds: DateTime.toEpochMillis(reading.timestamp) / 1000,
  glucoseMgDl: reading.glucoseMgDl,
  trend: reading.trend,
  status: reading.status as ExpectedShareReading["status"],
  displayTime: reading.displayTime
})

describe("Share dates", () => {
  it("reads Date(ms) and /Date(ms)/, with or without an offset, as the same UTC instant", () => {
    for (const text of [`Date(${T})`, `/Date(${T})/`, `Date(${T}-0400)`, `/Date(${T}+0530)/`, ` Date(${T}) `]) {
      assert.strictEqual(Option.getOrThrow(parseShareDate(text)).epochMillis, T, text)
    }
    assert.deepStrictEqual(Option.getOrThrow(parseShareDate(`Date(${T}-0400)`)), {
      epochMillis: T,
      offsetMinutes: -240
    })
    assert.deepStrictEqual(Option.getOrThrow(parseShareDate(`/Date(${T}+0545)/`)), {
      epochMillis: T,
      offsetMinutes: 345
    })
    assert.deepStrictEqual(Option.getOrThrow(parseShareDate(`Date(${T})`)), { epochMillis: T, offsetMinutes: null })
  })

  it("reads the escaped slashes of old servers once JSON has decoded them", () => {
    const [value] = decodeBody(`[{"WT":"\\/Date(${T})\\/","DT":"\\/Date(${T}-0400)\\/","Value":110,"Trend":4}]`)
    assert.strictEqual(value?.WT, `/Date(${T})/`)
    assert.strictEqual(Option.getOrThrow(parseShareDate(value!.WT)).epochMillis, T)
  })

  it("refuses what is not a Share date", () => {
    for (const text of [
      "",
      "2026-04-19T16:10:55Z",
      `${T}`,
      "Date()",
      "Date(abc)",
      `Date(${T}-04)`,
      `Date(${T}-2500)`,
      `Date(${T}+0460)`,
      `Date(${T}))`,
      "Date(99999999999999999)"
    ]) {
      assert.isTrue(Option.isNone(parseShareDate(text)), text)
    }
  })

  it("writes the display time in the device's zone, or none without an offset", () => {
    assert.strictEqual(formatShareDisplayTime({ epochMillis: T, offsetMinutes: -240 }), "2026-04-19T12:10:55-04:00")
    assert.strictEqual(
      formatShareDisplayTime({ epochMillis: T + 999, offsetMinutes: 345 }),
      "2026-04-19T21:55:55+05:45"
    )
    assert.strictEqual(formatShareDisplayTime({ epochMillis: T, offsetMinutes: 0 }), "2026-04-19T16:10:55+00:00")
    assert.isNull(formatShareDisplayTime({ epochMillis: T, offsetMinutes: null }))
  })
})

describe("Share trends and statuses", () => {
  it("maps names in any case and numbers 0–9; anything else is unknown", () => {
    const names = ["None", "DoubleUp", "SingleUp", "FortyFiveUp", "Flat", "FortyFiveDown", "SingleDown", "DoubleDown"]
    const expected = [
      "none",
      "doubleUp",
      "singleUp",
      "fortyFiveUp",
      "flat",
      "fortyFiveDown",
      "singleDown",
      "doubleDown"
    ]
    assert.deepStrictEqual(names.map(shareTrend), expected)
    assert.deepStrictEqual([0, 1, 2, 3, 4, 5, 6, 7].map(shareTrend), expected)
    assert.deepStrictEqual(["NotComputable", "RATEOUTOFRANGE", 8, 9, "4", "flat"].map(shareTrend), [
      "notComputable",
      "rateOutOfRange",
      "notComputable",
      "rateOutOfRange",
      "flat",
      "flat"
    ])
    assert.deepStrictEqual([10, -1, 4.5, "Sideways", "", null, undefined, "12"].map(shareTrend), [
      "unknown",
      "unknown",
      "unknown",
      "unknown",
      "unknown",
      "unknown",
      "unknown",
      "unknown"
    ])
  })

  it("a value at or beyond the sensor's limits (40, 400) is low or high", () => {
    assert.deepStrictEqual([39, 40, 41, 250, 399, 400, 401].map(shareStatus), [
      "low",
      "low",
      "ok",
      "ok",
      "ok",
      "high",
      "high"
    ])
  })
})

describe("Share values → readings", () => {
  it("matches the oracle in both formats: instants, values, trends, high/low, display times, values without glucose", () => {
    const series = shareSeries({
      start: T - 20 * 3_600_000,
      count: 240,
      nullEvery: 11,
      highLowEvery: 7,
      wtOffsetEvery: 5
    })
    for (const format of ["modern", "legacy"] as const) {
      const body = JSON.stringify(series.records.map((record) => shareValueJson(record, format)))
      const normalized = normalize(decodeBody(body))
      assert.deepStrictEqual(normalized.readings.map(asExpected), series.expected, format)
      assert.strictEqual(normalized.skippedWithoutValue, Math.floor(240 / 11), format)
      assert.deepStrictEqual(normalized.rejected, [])
      for (const reading of normalized.readings) {
        assert.deepStrictEqual(reading.source, { provider: DEXCOM_SHARE_PROVIDER_ID, recordId: null })
        assert.isNull(reading.trendRate)
        assert.strictEqual(reading.userId, alice)
      }
    }
  })

  it("keeps only the window, [from, to), by the instant in whole seconds", () => {
    const series = shareSeries({ start: T, count: 10 })
    const values = series.records.map((record) => shareValueJson(record, "modern"))
    // Record 4 is at T + 1200.731 s: its instant is T + 1200 s, inside a window starting there.
    const normalized = normalize(values, T + 1_200_000, T + 2_400_000)
    assert.deepStrictEqual(
      normalized.readings.map((reading) => DateTime.toEpochMillis(reading.timestamp)),
      [4, 5, 6, 7].map((index) => T + index * 300_000)
    )
  })

  it("rejects impossible values (counted, never stored) and counts receivers' special codes as without value", () => {
    const values = [
      shareValueJson(impossibleShareRecord(T), "modern"),
      { WT: `Date(${T + 300_000})`, Value: 5, Trend: "None" },
      { WT: `Date(${T + 600_000})`, Value: 15, Trend: "Flat" },
      { WT: `Date(${T + 900_000})`, Value: -3, Trend: "Flat" },
      { WT: `Date(${T + 1_200_000})`, Value: null, Trend: "Flat" },
      { WT: `Date(${T + 1_500_000})`, Trend: "Flat" },
      { WT: `Date(${T + 1_800_000})`, Value: 120.6, Trend: "Flat" }
    ]
    const normalized = normalize(values)
    assert.deepStrictEqual(normalized.readings.map(asExpected), [
      { epochSeconds: (T + 1_800_000) / 1000, glucoseMgDl: 121, trend: "flat", status: "ok", displayTime: null }
    ])
    assert.strictEqual(normalized.skippedWithoutValue, 3)
    assert.deepStrictEqual(
      normalized.rejected.map((value) => value.instant),
      [T, T + 600_000, T + 900_000].map((millis) => new Date(millis).toISOString())
    )
  })

  it("one reading per instant whatever the order of duplicates; an instant with a reading is not also skipped", () => {
    const values: Array<ShareGlucoseValue> = [
      { WT: `Date(${T})`, Value: 110, Trend: "Flat" },
      { WT: `/Date(${T + 400})/`, Value: 112, Trend: 3 },
      { WT: `Date(${T + 900})`, Value: null, Trend: "Flat" },
      { WT: `Date(${T})`, Value: 110, Trend: "Flat" }
    ]
    const forward = normalize(values)
    const backward = normalize([...values].reverse())
    assert.deepStrictEqual(forward.readings.map(asExpected), backward.readings.map(asExpected))
    assert.deepStrictEqual(forward.readings.map(asExpected), [
      { epochSeconds: T / 1000, glucoseMgDl: 112, trend: "fortyFiveUp", status: "ok", displayTime: null }
    ])
    assert.strictEqual(forward.skippedWithoutValue, 0)
  })

  it("fails on a WT it cannot read, storing nothing of the answer", () => {
    const result = normalizeShareValues(
      DEXCOM_SHARE_PROVIDER_ID,
      alice,
      [
        { WT: `Date(${T})`, Value: 110, Trend: "Flat" },
        { WT: "2026-04-19T16:10:55", Value: 111, Trend: "Flat" }
      ],
      window(T - 1000, T + 1000)
    )
    assert.isTrue(Result.isFailure(result))
    if (Result.isFailure(result)) assert.include(result.failure, "unreadable WT")
  })
})

describe("Share requests and answers", () => {
  it("asks for the minutes back to the window's start (one more for the clocks), 1 to 1440", () => {
    const now = T
    assert.strictEqual(shareMinutes(window(now - 3_600_000, now), now), 61)
    assert.strictEqual(shareMinutes(window(now - 3_600_001, now), now), 62)
    assert.strictEqual(shareMinutes(window(now - 86_400_000, now), now), 1440)
    assert.strictEqual(shareMinutes(window(now - 40 * 86_400_000, now - 39 * 86_400_000), now), 1440)
    assert.strictEqual(shareMinutes(window(now + 60_000, now + 120_000), now), 1)
  })

  it("a refused login is a wrong password, a locked account, or Share failing", () => {
    assert.strictEqual(
      classifyLoginRefusal("AccountPasswordInvalid", "Publisher account password failed"),
      "invalid_credentials"
    )
    assert.strictEqual(classifyLoginRefusal("SSO_AuthenticateMaxAttemptsExceeed", ""), "account_locked")
    assert.strictEqual(classifyLoginRefusal("SSO_AuthenticatePasswordInvalid", "Account is locked"), "account_locked")
    assert.strictEqual(
      classifyLoginRefusal("SSO_InternalError", "Cannot Authenticate by AccountName"),
      "invalid_credentials"
    )
    assert.strictEqual(classifyLoginRefusal("SSO_InternalError", "Internal error"), "unavailable")
    // An unknown answer to a login is not guessed to be passing: the same password is not tried again.
    assert.strictEqual(classifyLoginRefusal("SomethingNew", "?"), "invalid_credentials")
  })
})
