import { EventPublisher, makeReadingEvent, type ReadingEvent } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, type Layer } from "effect"
import { reading, series, T0 } from "../support/fixtures.ts"

export interface EventPublisherHarness<R> {
  /** A publisher with an observer, fresh per test. */
  readonly makeLayer: () => Layer.Layer<EventPublisher | R, unknown>
  /**
   * The ids of the events that reached the other side, as an independent observer (a consumer, a log) saw them,
   * once at least `expected` have arrived or a deadline passed.
   */
  readonly observedEventIds: (expected: number) => Effect.Effect<ReadonlyArray<string>, unknown, R>
}

const events = (count: number, userId = "u1"): ReadonlyArray<ReadingEvent> =>
  series(userId, count).map((r) => makeReadingEvent({ kind: "created", reading: r }, T0))

/** The behaviour every `EventPublisher` adapter must have. */
export const eventPublisherContract = <R>(name: string, harness: EventPublisherHarness<R>) =>
  describe(`EventPublisher contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, EventPublisher | R>) =>
      it.live(title, () => body.pipe(Effect.provide(harness.makeLayer())))

    test(
      "publishing nothing succeeds and sends nothing",
      Effect.gen(function* () {
        const publisher = yield* EventPublisher
        yield* publisher.publish([])
        assert.deepStrictEqual(yield* harness.observedEventIds(0), [])
      })
    )

    test(
      "every confirmed event reaches the other side once",
      Effect.gen(function* () {
        const publisher = yield* EventPublisher
        const batch = events(50)
        yield* publisher.publish(batch)
        const seen = yield* harness.observedEventIds(50)
        assert.deepStrictEqual([...seen].sort(), batch.map((event) => event.eventId).sort())
      })
    )

    test(
      "created and updated events of the same instant are both delivered",
      Effect.gen(function* () {
        const publisher = yield* EventPublisher
        const created = makeReadingEvent({ kind: "created", reading: reading("u1", 0, 100) }, T0)
        const updated = makeReadingEvent({ kind: "updated", reading: reading("u1", 0, 104) }, T0)
        yield* publisher.publish([created, updated])
        const seen = yield* harness.observedEventIds(2)
        assert.deepStrictEqual([...seen].sort(), [created.eventId, updated.eventId].sort())
      })
    )

    test(
      "a large backfill (10,000 events) is confirmed whole",
      Effect.gen(function* () {
        const publisher = yield* EventPublisher
        const batch = events(10_000)
        yield* publisher.publish(batch)
        const seen = yield* harness.observedEventIds(10_000)
        assert.strictEqual(new Set(seen).size, 10_000)
      })
    )

    test(
      "ping succeeds when the broker is reachable",
      Effect.gen(function* () {
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(EventPublisher.use((publisher) => publisher.ping))))
      })
    )
  })
