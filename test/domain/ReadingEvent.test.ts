import { createHash } from "node:crypto"
import {
  GlucoseStatuses,
  makeReading,
  makeReadingEvent,
  ProviderId,
  readingEventId,
  Trends,
  type UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import fc from "fast-check"
import { reading, T0 } from "../support/fixtures.ts"

const URL_NAMESPACE = Buffer.from("6ba7b8119dad11d180b400c04fd430c8", "hex")

/** RFC 4122 §4.3 with Node's own MD5. */
const referenceUuidV3 = (name: string) => {
  const hash = createHash("md5").update(URL_NAMESPACE).update(name, "utf8").digest()
  hash[6] = (hash[6]! & 0x0f) | 0x30
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = hash.toString("hex")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

describe("reading events", () => {
  it("the event id is a name-based UUID of the user, instant and measurement", () => {
    const id = readingEventId(reading("u1", 0, 100))
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    // Provenance does not change it; the user, instant or value does.
    assert.strictEqual(
      readingEventId(
        reading("u1", 0, 100, { source: { provider: reading("u1", 0, 1).source.provider, recordId: "x" } })
      ),
      id
    )
    assert.notStrictEqual(readingEventId(reading("u2", 0, 100)), id)
    assert.notStrictEqual(readingEventId(reading("u1", 5, 100)), id)
    assert.notStrictEqual(readingEventId(reading("u1", 0, 101)), id)
    assert.notStrictEqual(readingEventId(reading("u1", 0, 100, { trend: "singleUp" })), id)
  })

  it("is stable across releases (consumers de-duplicate on it) and standard", () => {
    // Python: uuid.uuid3(uuid.NAMESPACE_URL, "\0".join(["bg-ingest/reading", "u1", "2026-02-01T08:00:00Z",
    //   "100", "flat", "0.1", "ok"]))
    assert.strictEqual(readingEventId(reading("u1", 0, 100)), "bb299ae8-ffc0-324f-90c8-2770987400aa")
  })

  it("is the version-3 UUID of the reading's name, computed as Node's MD5 computes it", () => {
    fc.assert(
      fc.property(
        // Any text as the user id (ids are ASCII once validated; this exercises multi-byte UTF-8 too).
        fc.string({ unit: "binary", maxLength: 200 }),
        fc.integer({ min: 0, max: 4_102_444_800 }),
        fc.integer({ min: 20, max: 600 }),
        fc.constantFrom(...Trends),
        fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: null }),
        fc.constantFrom(...GlucoseStatuses),
        (userId, seconds, glucoseMgDl, trend, trendRate, status) => {
          const timestamp = DateTime.makeUnsafe(seconds * 1000)
          const subject = makeReading({
            userId: userId as UserId,
            timestamp,
            glucoseMgDl,
            trend,
            trendRate,
            status,
            source: { provider: ProviderId.make("test"), recordId: null }
          })
          const name = [
            "bg-ingest/reading",
            userId,
            `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`,
            glucoseMgDl,
            trend,
            trendRate ?? "",
            status
          ].join("\u0000")
          assert.strictEqual(readingEventId(subject), referenceUuidV3(name))
        }
      ),
      { numRuns: 5000 }
    )
  })

  it("an event carries its type, time and reading", () => {
    const event = makeReadingEvent({ kind: "updated", reading: reading("u1", 0, 100) }, T0)
    assert.strictEqual(event.type, "bg.reading.updated")
    assert.strictEqual(event.occurredAt, T0)
  })
})
