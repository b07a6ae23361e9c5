import {
  type EntryOptions,
  meaningOfEntry,
  nightscoutTrends,
  ProviderId,
  parseNightscoutTime,
  Trends,
  trendOfEntry
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Option, Result } from "effect"
import { user } from "../support/fixtures.ts"

const NOW = Date.UTC(2026, 10, 27, 15, 44, 0)
const options: EntryOptions = {
  userId: user("alice"),
  provider: ProviderId.make("nightscout-upload"),
  nowMillis: NOW,
  recordId: "device"
}

const meaning = (entry: unknown, overrides: Partial<EntryOptions> = {}) =>
  meaningOfEntry(entry, { ...options, ...overrides })

const reading = (entry: unknown) => {
  const result = meaning(entry)
  if (Result.isFailure(result)) throw new Error(`refused: ${JSON.stringify(result.failure)}`)
  if (result.success.kind !== "reading") throw new Error(`skipped: ${result.success.reason}`)
  return result.success.reading
}

const refused = (entry: unknown) => {
  const result = meaning(entry)
  if (Result.isSuccess(result)) throw new Error(`accepted: ${JSON.stringify(result.success)}`)
  return result.failure
}

const skipped = (entry: unknown) => {
  const result = meaning(entry)
  return Result.isSuccess(result) && result.success.kind === "skipped" ? result.success.reason : "not skipped"
}

describe("Nightscout entries", () => {
  it("every trend is served as a direction and number that read back to it (unknown as NOT COMPUTABLE)", () => {
    for (const trend of Trends) {
      const { direction, trend: number } = nightscoutTrends[trend]
      const expected = trend === "unknown" ? "notComputable" : trend
      assert.strictEqual(trendOfEntry(direction, undefined), expected)
      assert.strictEqual(trendOfEntry(undefined, number), expected)
    }
  })

  it("directions are read whatever their case and spacing, then the number, and minimed's triple arrows", () => {
    assert.strictEqual(trendOfEntry("NotComputable", undefined), "notComputable")
    assert.strictEqual(trendOfEntry("not computable", undefined), "notComputable")
    assert.strictEqual(trendOfEntry("RATE_OUT_OF_RANGE", undefined), "rateOutOfRange")
    assert.strictEqual(trendOfEntry("flat", 1), "flat")
    assert.strictEqual(trendOfEntry("Sideways?", 6), "singleDown")
    assert.strictEqual(trendOfEntry(undefined, "3"), "fortyFiveUp")
    assert.strictEqual(trendOfEntry("TripleUp", 1), "doubleUp")
    assert.strictEqual(trendOfEntry("TripleDown", undefined), "doubleDown")
    assert.strictEqual(trendOfEntry(undefined, undefined), "unknown")
    assert.strictEqual(trendOfEntry(null, 12), "unknown")
  })

  it("times: Z, offsets with and without a colon, no zone as UTC; impossible dates refused", () => {
    const at = (text: string) => Option.map(parseNightscoutTime(text), (time) => [time.epochMillis, time.offsetMinutes])
    assert.deepStrictEqual(at("2026-11-27T15:44:00.000Z"), Option.some([NOW, 0]))
    assert.deepStrictEqual(at("2026-11-27T16:44:00.000+0100"), Option.some([NOW, 60]))
    assert.deepStrictEqual(at("2026-11-27T10:14:00-05:30"), Option.some([NOW, -330]))
    assert.deepStrictEqual(at("2026-11-27T15:44:00"), Option.some([NOW, null]))
    assert.deepStrictEqual(at("2026-11-27T15:44:00.5Z"), Option.some([NOW + 500, 0]))
    for (const bad of ["2026-02-31T00:00:00Z", "2026-13-01T00:00:00Z", "27/11/2026", "", "2026-11-27T25:00:00Z"]) {
      assert.isTrue(Option.isNone(parseNightscoutTime(bad)), bad)
    }
  })

  it("an sgv entry is a reading: date in ms floored to the second, trend, device as record id, local time kept", () => {
    const r = reading({
      type: "sgv",
      sgv: 120,
      date: NOW - 60_000 + 963,
      dateString: "2026-11-27T16:43:00.963+0100",
      direction: "FortyFiveDown",
      trend: 5,
      device: "xDrip-DexcomG6",
      _id: "65640c1b2a3f4e0012345678"
    })
    assert.strictEqual(DateTime.toEpochMillis(r.timestamp), NOW - 60_000)
    assert.deepStrictEqual(
      [r.glucoseMgDl, r.trend, r.status, r.source.provider, r.source.recordId, r.displayTime, r.userId],
      [120, "fortyFiveDown", "ok", "nightscout-upload", "xDrip-DexcomG6", "2026-11-27T16:43:00.963+0100", "alice"]
    )
    const polled = meaning({ type: "sgv", sgv: 120, date: NOW, _id: "65640c1b2a3f4e0012345678" }, { recordId: "id" })
    assert.strictEqual(
      Result.isSuccess(polled) && polled.success.kind === "reading" ? polled.success.reading.source.recordId : null,
      "65640c1b2a3f4e0012345678"
    )
  })

  it("the instant comes from date, else dateString, else sysTime", () => {
    const instant = (entry: object) => DateTime.toEpochMillis(reading({ type: "sgv", sgv: 100, ...entry }).timestamp)
    assert.strictEqual(instant({ date: NOW, dateString: "2020-01-01T00:00:00Z" }), NOW)
    assert.strictEqual(instant({ date: String(NOW) }), NOW)
    assert.strictEqual(instant({ dateString: "2026-11-27T16:44:00.000+0100" }), NOW)
    assert.strictEqual(instant({ sysTime: "2026-11-27T15:44:00.000Z" }), NOW)
  })

  it("sgv as a numeric string or a float is rounded; 39 is LOW, above 400 HIGH", () => {
    assert.strictEqual(reading({ type: "sgv", sgv: "118", date: NOW }).glucoseMgDl, 118)
    assert.strictEqual(reading({ type: "sgv", sgv: 117.6, date: NOW }).glucoseMgDl, 118)
    assert.strictEqual(reading({ type: "sgv", sgv: 39, date: NOW }).status, "low")
    assert.strictEqual(reading({ type: "sgv", sgv: 400, date: NOW }).status, "ok")
    assert.strictEqual(reading({ type: "sgv", sgv: 401, date: NOW }).status, "high")
    assert.strictEqual(reading({ sgv: 140, date: NOW }).glucoseMgDl, 140)
  })

  it("other types, entries without a value and Dexcom's error codes are skipped, not refused", () => {
    assert.strictEqual(skipped({ type: "mbg", mbg: 110, date: NOW }), "not_sgv")
    assert.strictEqual(skipped({ type: "cal", slope: 1, intercept: 2, scale: 1, date: NOW }), "not_sgv")
    assert.strictEqual(skipped({ date: NOW }), "not_sgv")
    assert.strictEqual(skipped({ type: "sgv", date: NOW }), "no_value")
    assert.strictEqual(skipped({ type: "sgv", sgv: "LOW", date: NOW }), "no_value")
    for (const code of [1, 2, 3, 5, 6, 9, 10, 12, 38])
      assert.strictEqual(skipped({ type: "sgv", sgv: code }), "error_code")
  })

  it("a reading with an impossible value or time is refused, naming the field", () => {
    assert.strictEqual(refused({ type: "sgv", sgv: 601, date: NOW }).field, "sgv")
    assert.strictEqual(refused({ type: "sgv", sgv: 100 }).field, "date")
    assert.strictEqual(refused({ type: "sgv", sgv: 100, date: "yesterday" }).field, "date")
    assert.strictEqual(refused({ type: "sgv", sgv: 100, date: -1 }).field, "date")
    assert.strictEqual(refused({ type: "sgv", sgv: 100, date: 1e20 }).field, "date")
    assert.strictEqual(refused({ type: "sgv", sgv: 100, dateString: "soon" }).field, "dateString")
    assert.strictEqual(refused({ type: "sgv", sgv: 100, date: NOW + 11 * 60_000 }).field, "date")
    assert.strictEqual(refused({ type: "sgv", sgv: 100, date: { $gt: 1 } }).field, "date")
    assert.strictEqual(refused("not an entry").field, "")
    // Ten minutes ahead is still a reading: clocks disagree a little.
    assert.strictEqual(reading({ type: "sgv", sgv: 100, date: NOW + 10 * 60_000 }).glucoseMgDl, 100)
  })
})
