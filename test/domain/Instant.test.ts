import { parseRfc3339, READING_MAX_FUTURE, Rfc3339Instant, readingInstantProblem } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Result, Schema } from "effect"

const millis = (text: string) => Result.getOrUndefined(parseRfc3339(text))

describe("parseRfc3339", () => {
  it("reads offsets, fractions and the calendar exactly", () => {
    assert.strictEqual(millis("2025-04-26T14:30:00Z"), Date.UTC(2025, 3, 26, 14, 30))
    assert.strictEqual(millis("2025-04-26T16:30:00+02:00"), Date.UTC(2025, 3, 26, 14, 30))
    assert.strictEqual(millis("2025-04-26t14:30:00z"), Date.UTC(2025, 3, 26, 14, 30))
    assert.strictEqual(millis("2025-04-26 14:30:00-00:00"), Date.UTC(2025, 3, 26, 14, 30))
    assert.strictEqual(millis("2025-04-26T14:30:00.987654321Z"), Date.UTC(2025, 3, 26, 14, 30, 0, 987))
    assert.strictEqual(millis("2024-02-29T00:00:00Z"), Date.UTC(2024, 1, 29))
    assert.strictEqual(millis("2000-02-29T00:00:00Z"), Date.UTC(2000, 1, 29))
    assert.strictEqual(millis("1970-01-01T00:00:00Z"), 0)
    assert.strictEqual(millis("1970-01-01T01:00:00+01:00"), 0)
    assert.strictEqual(millis("9999-12-31T23:59:59Z"), 253_402_300_799_000)
    assert.strictEqual(millis("9999-12-31T23:59:59.999Z"), 253_402_300_799_999)
  })

  it("refuses what is not a real time of 1970–9999, naming why", () => {
    const refused: Array<[string, RegExp]> = [
      ["2026-02-30T12:00:00Z", /day 30 does not exist/],
      ["2026-02-29T12:00:00Z", /day 29 does not exist/],
      ["1900-02-29T12:00:00Z", /day 29 does not exist/],
      ["2026-04-31T12:00:00Z", /day 31/],
      ["2026-13-01T00:00:00Z", /month 13/],
      ["2026-00-01T00:00:00Z", /month 00/],
      ["2026-01-00T00:00:00Z", /day 00/],
      ["2026-01-01T24:00:00Z", /hour 24/],
      ["2026-01-01T23:60:00Z", /minute 60/],
      ["2016-12-31T23:59:60Z", /second 60/],
      ["2026-01-01T00:00:00+24:00", /offset/],
      ["2026-01-01T00:00:00+05:60", /offset/],
      ["9999-12-31T23:59:59-23:59", /outside the years/],
      ["0000-01-01T00:00:00+01:00", /outside the years/],
      ["1969-12-31T23:59:59Z", /outside the years/],
      ["1970-01-01T00:59:59+01:00", /outside the years/],
      ["2026-01-01T00:00:00", /with a zone/],
      ["2026-01-01T00:00Z", /with a zone/],
      ["2026-01-01T00:00:00.Z", /with a zone/],
      ["2026-01-01T00:00:00.1234567890Z", /with a zone/],
      ["2026-01-01T00:00:00+0100", /with a zone/],
      ["2026-01-01T00:00:00+01", /with a zone/],
      ["+002026-01-01T00:00:00Z", /with a zone/],
      ["10000-01-01T00:00:00Z", /with a zone/],
      ["2026-1-01T00:00:00Z", /with a zone/],
      ["2026-01-01_00:00:00Z", /with a zone/],
      [" 2026-01-01T00:00:00Z", /with a zone/],
      ["2026-01-01T00:00:00Z ", /with a zone/],
      ["２０２６-01-01T00:00:00Z", /with a zone/]
    ]
    for (const [text, reason] of refused) {
      const parsed = parseRfc3339(text)
      assert.isTrue(Result.isFailure(parsed), text)
      if (Result.isFailure(parsed)) assert.match(parsed.failure, reason, text)
    }
  })

  it("is the Schema of every time given as text", () => {
    const decode = Schema.decodeUnknownExit(Rfc3339Instant)
    const ok = decode("2026-03-01T00:30:00+01:00")
    assert.strictEqual(ok._tag, "Success")
    if (ok._tag === "Success") assert.strictEqual(DateTime.toEpochMillis(ok.value), Date.UTC(2026, 1, 28, 23, 30))
    assert.strictEqual(decode("2026-02-30T00:00:00Z")._tag, "Failure")
  })
})

describe("readingInstantProblem", () => {
  const now = Date.UTC(2026, 5, 1, 12)
  it("a reading is a time of 1970–9999, at most 10 minutes ahead of now", () => {
    const at = (epochMillis: number) => readingInstantProblem(DateTime.makeUnsafe(epochMillis), now)
    assert.isUndefined(at(now))
    assert.isUndefined(at(0))
    assert.isUndefined(at(now + Duration.toMillis(READING_MAX_FUTURE)))
    assert.match(at(now + Duration.toMillis(READING_MAX_FUTURE) + 1)!, /future/)
    assert.match(at(Date.UTC(2099, 0, 1))!, /future/)
    assert.match(at(-1)!, /1970/)
    assert.match(at(253_402_300_800_000)!, /9999/)
  })
})
