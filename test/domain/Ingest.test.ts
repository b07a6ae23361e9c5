import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { Ingest, readingEventId, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import { domainLayer } from "../support/domain.ts"
import { reading } from "../support/fixtures.ts"

const alice = UserId.make("u1")

describe("Ingest", () => {
  it.effect("stores, then publishes one event per inserted or updated reading, and counts what it did", () =>
    Effect.gen(function* () {
      const ingest = yield* Ingest
      const log = yield* InMemoryEventLog
      const first = yield* ingest.ingest(alice, [reading("u1", 0, 100), reading("u1", 5, 110)])
      assert.deepStrictEqual(first, { received: 2, inserted: 2, updated: 0, unchanged: 0 })
      const second = yield* ingest.ingest(alice, [reading("u1", 0, 100), reading("u1", 5, 115), reading("u1", 10, 90)])
      assert.deepStrictEqual(second, { received: 3, inserted: 1, updated: 1, unchanged: 1 })
      const events = yield* log.events
      assert.deepStrictEqual(
        events.map((event) => [event.type, event.reading.glucoseMgDl]),
        [
          ["bg.reading.created", 100],
          ["bg.reading.created", 110],
          ["bg.reading.updated", 115],
          ["bg.reading.created", 90]
        ]
      )
      assert.strictEqual(events[2]!.eventId, readingEventId(reading("u1", 5, 115)))
    }).pipe(Effect.provide(domainLayer([])))
  )

  it.effect("within one batch the last reading of an instant wins; the others count as unchanged", () =>
    Effect.gen(function* () {
      const ingest = yield* Ingest
      const result = yield* ingest.ingest(alice, [reading("u1", 0, 100), reading("u1", 0, 104), reading("u1", 5, 99)])
      assert.deepStrictEqual(result, { received: 3, inserted: 2, updated: 0, unchanged: 1 })
      const events = yield* InMemoryEventLog.use((log) => log.events)
      assert.deepStrictEqual(
        events.map((event) => event.reading.glucoseMgDl),
        [104, 99]
      )
    }).pipe(Effect.provide(domainLayer([])))
  )

  it.effect("a failed publish fails the ingest; the sweep publishes the owed events once, with the same ids", () =>
    Effect.gen(function* () {
      const ingest = yield* Ingest
      const log = yield* InMemoryEventLog
      const batch = [reading("u1", 0, 100), reading("u1", 5, 110)]
      yield* log.failNext(1)
      const failed = yield* Effect.exit(ingest.ingest(alice, batch))
      assert.isTrue(Exit.isFailure(failed))
      assert.strictEqual((yield* log.events).length, 0)
      const retry = yield* ingest.ingest(alice, batch)
      assert.deepStrictEqual(retry, { received: 2, inserted: 0, updated: 0, unchanged: 2 })
      // The retry changed nothing: its caller publishes nothing, the owed events are the sweep's.
      assert.strictEqual((yield* log.events).length, 0)
      assert.strictEqual(yield* ingest.republishUnconfirmed(100), 2)
      const ids = (yield* log.events).map((event) => event.eventId)
      assert.deepStrictEqual(ids, batch.map(readingEventId))
      yield* ingest.ingest(alice, batch)
      assert.strictEqual(yield* ingest.republishUnconfirmed(100), 0)
      assert.strictEqual((yield* log.events).length, 2)
    }).pipe(Effect.provide(domainLayer([])))
  )

  it.effect("refuses readings of another user as a programming error", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(Ingest.use((ingest) => ingest.ingest(alice, [reading("u2", 0, 100)])))
      assert.isTrue(Exit.hasDies(exit))
    }).pipe(Effect.provide(domainLayer([])))
  )
})
