import { makeReadingEvent, readingEventId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { reading, T0 } from "../support/fixtures.ts"

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

  it("an event carries its type, time and reading", () => {
    const event = makeReadingEvent({ kind: "updated", reading: reading("u1", 0, 100) }, T0)
    assert.strictEqual(event.type, "bg.reading.updated")
    assert.strictEqual(event.occurredAt, T0)
  })
})
