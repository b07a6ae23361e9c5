import { type InMemoryEventLog, makeInMemoryEventPublisher } from "@bg-ingest/adapters/memory"
import {
  ConnectionStore,
  EventPublisher,
  Ingest,
  makeReading,
  newConnection,
  ProviderId,
  type Reading,
  ReadingStore,
  readingEventId,
  Scheduler,
  Sync,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { domainLayerPublishingTo } from "../support/domain.ts"
import { makeScriptedProvider } from "../support/ScriptedProvider.ts"

const NOW = DateTime.makeUnsafe("2026-02-10T12:00:00Z")
const scripted = ProviderId.make("scripted")

const dayOf = (userId: UserId): ReadonlyArray<Reading> =>
  Array.from({ length: 288 }, (_, index) =>
    makeReading({
      userId,
      timestamp: DateTime.subtract(NOW, { minutes: (288 - index) * 5 }),
      glucoseMgDl: 100 + (index % 50),
      source: { provider: scripted, recordId: null }
    })
  )

/**
 * The in-memory broker, 10 seconds to confirm each publish: long enough for the other replica to sweep meanwhile.
 * `logs` receives its log.
 */
const slowBroker = (logs: Array<InMemoryEventLog["Service"]>) =>
  Layer.effect(
    EventPublisher,
    Effect.map(makeInMemoryEventPublisher(), ({ publisher, log }) => {
      logs.push(log)
      return EventPublisher.of({
        ...publisher,
        publish: (events) => Effect.andThen(Effect.sleep("10 seconds"), publisher.publish(events))
      })
    })
  )

/** Another replica on the same stores and broker: its own scheduler, sync and ingest. */
const otherReplica = Effect.gen(function* () {
  const ingest = yield* Ingest.make
  const sync = yield* Sync.make.pipe(Effect.provideService(Ingest, ingest))
  return yield* Scheduler.make.pipe(Effect.provideService(Sync, sync), Effect.provideService(Ingest, ingest))
})

describe("replicas on one store", () => {
  it.effect("two replicas publish one event per stored reading: a sweep leaves what the other is publishing", () => {
    const control = makeScriptedProvider()
    const logs: Array<InMemoryEventLog["Service"]> = []
    const users = Array.from({ length: 12 }, (_, index) => UserId.make(`user-${index}`))
    return Effect.gen(function* () {
      yield* TestClock.setTime(DateTime.toEpochMillis(NOW))
      const connections = yield* ConnectionStore
      for (const userId of users) {
        control.setReadings(userId, dayOf(userId))
        yield* connections.upsert(
          newConnection({
            userId,
            provider: scripted,
            backfillFrom: DateTime.subtract(NOW, { days: 1 }),
            credentials: null,
            now: NOW
          })
        )
      }
      control.setLatency(Duration.seconds(1))
      const a = yield* Scheduler
      const b = yield* otherReplica
      const runners = [yield* Effect.forkChild(a.run), yield* Effect.forkChild(b.run)]
      yield* TestClock.adjust("40 minutes")
      for (const runner of runners) yield* Fiber.interrupt(runner)
      const events = yield* logs[0]!.events
      const stored = users.length * 288
      // Every reading synced (twice each connection: at once, and after its interval), stored once, evented once.
      assert.deepStrictEqual([...new Set(control.fetches.map((fetch) => fetch.userId))].sort(), [...users].sort())
      assert.strictEqual(events.length / stored, 1)
      assert.strictEqual(new Set(events.map((event) => event.eventId)).size, stored)
      const all = users.flatMap((userId) => dayOf(userId).map(readingEventId))
      assert.deepStrictEqual(new Set(events.map((event) => event.eventId)), new Set(all))
      assert.deepStrictEqual(yield* ReadingStore.use((store) => store.unpublished(10)), [])
    }).pipe(
      Effect.provide(domainLayerPublishingTo([control.provider], slowBroker(logs), { scheduler: { concurrency: 2 } }))
    )
  })
})
