import { formatInstant } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import fc from "fast-check"

const viaDate = (millis: number) => `${new Date(millis).toISOString().slice(0, 19)}Z`

describe("formatInstant", () => {
  it("is RFC 3339 UTC with Z and whole seconds", () => {
    assert.strictEqual(formatInstant(DateTime.makeUnsafe("2025-04-26T14:30:00Z")), "2025-04-26T14:30:00Z")
    assert.strictEqual(formatInstant(DateTime.makeUnsafe("2024-02-29T23:59:59.999Z")), "2024-02-29T23:59:59Z")
    assert.strictEqual(formatInstant(DateTime.makeUnsafe(0)), "1970-01-01T00:00:00Z")
    assert.strictEqual(formatInstant(DateTime.makeUnsafe(-1)), "1969-12-31T23:59:59Z")
    assert.strictEqual(formatInstant(DateTime.makeUnsafe("2000-03-01T00:00:00Z")), "2000-03-01T00:00:00Z")
    assert.strictEqual(formatInstant(DateTime.makeUnsafe("2100-02-28T12:00:00Z")), "2100-02-28T12:00:00Z")
  })

  // Event ids are derived from it: its output must never change, so it must equal what Date#toISOString gives.
  it("agrees with Date#toISOString on any instant", () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_198_755_200_000, max: 253_402_300_799_999 }), (millis) => {
        assert.strictEqual(formatInstant(DateTime.makeUnsafe(millis)), viaDate(millis))
      }),
      { numRuns: 20_000 }
    )
  })

  it("agrees on the first and the last millisecond of every day from 1899 to 2301", () => {
    for (let day = Date.UTC(1899, 11, 1) / 86_400_000; day <= Date.UTC(2301, 0, 31) / 86_400_000; day++) {
      for (const millis of [day * 86_400_000, day * 86_400_000 - 1]) {
        assert.strictEqual(formatInstant(DateTime.makeUnsafe(millis)), viaDate(millis))
      }
    }
  })
})
