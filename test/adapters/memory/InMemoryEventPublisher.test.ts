import { InMemoryEventLog, InMemoryEventPublisher } from "@bg-ingest/adapters/memory"
import { EventPublisher, makeReadingEvent } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { reading, T0 } from "../../support/fixtures.ts"

const events = (from: number, count: number) =>
  Array.from({ length: count }, (_, index) =>
    makeReadingEvent({ kind: "created", reading: reading("u1", (from + index) * 5, 100) }, T0)
  )

describe("InMemoryEventPublisher", () => {
  it.effect("keeps the newest `capacity` events, oldest first", () =>
    Effect.gen(function* () {
      const publisher = yield* EventPublisher
      const log = yield* InMemoryEventLog
      yield* publisher.publish(events(0, 2))
      yield* publisher.publish(events(2, 2))
      yield* publisher.publish(events(4, 1))
      assert.deepStrictEqual(
        (yield* log.events).map((event) => event.eventId),
        events(2, 3).map((event) => event.eventId)
      )
      yield* publisher.publish(events(5, 7))
      assert.deepStrictEqual(
        (yield* log.events).map((event) => event.eventId),
        events(9, 3).map((event) => event.eventId)
      )
    }).pipe(Effect.provide(InMemoryEventPublisher.layer({ capacity: 3 })))
  )
})
