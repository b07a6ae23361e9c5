import { join } from "node:path"
import {
  InMemoryConnectionStore,
  InMemoryReadingStore,
  makeSimulatorProvider,
  modelReadings,
  profileOf,
  SIMULATOR_PROVIDER_ID,
  SqliteConnectionStore,
  SqliteDatabase,
  SqliteReadingStore
} from "@bg-ingest/adapters"
import { RabbitMqEventPublisher } from "@bg-ingest/adapters/rabbitmq"
import {
  type CgmProviderShape,
  CgmProviders,
  ConnectionStore,
  EventPublishError,
  EventPublisher,
  Ingest,
  makeWindow,
  ReadingStore,
  readingEventId,
  Scheduler,
  Sync,
  type UserId
} from "@bg-ingest/domain"
import { assert, it } from "@effect/vitest"
import { Context, DateTime, Deferred, Duration, Effect, Fiber, Layer, Option, Redacted, Schedule } from "effect"
import { manualClock } from "../../support/clock.ts"
import { connection, user } from "../../support/fixtures.ts"
import {
  describeWithBroker,
  makeTcpProxy,
  resolveTestBroker,
  TestConsumer,
  uniqueName
} from "../../support/rabbitmq.ts"
import { scratchDirectory } from "../../support/sqlite.ts"

const availability = await resolveTestBroker()
const brokerUrl = availability.available ? availability.broker.url : ""

/** The simulator, fetching at most 12 hours per request: a 15-day backfill is 30 windows, so 30 publishes. */
const shortWindowSimulator = (): CgmProviderShape => {
  const simulator = makeSimulatorProvider()
  return { ...simulator, limits: { ...simulator.limits, maxWindow: Duration.hours(12) } }
}

const publisherLayer = (url: string, exchange: string) =>
  RabbitMqEventPublisher.layer({
    url: Redacted.make(url),
    exchange,
    confirmTimeout: "5 seconds",
    reconnect: { initialDelay: "50 millis", maxDelay: "300 millis" }
  })

/** Everything a sync needs, on the given stores and publisher. */
const syncLayer = <A, E1, R1, E2, R2>(
  stores: Layer.Layer<A | ConnectionStore | ReadingStore, E1, R1>,
  publisher: Layer.Layer<EventPublisher, E2, R2>
) =>
  Scheduler.layer.pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(Layer.mergeAll(stores, publisher, CgmProviders.layer([shortWindowSimulator()])))
  )

interface CursorCheck {
  readonly cursor: DateTime.Utc
  readonly readingsBefore: number
  readonly missing: ReadonlyArray<string>
}

/** Every cursor the sync persisted, with the stored readings before it that the consumer had not received. */
class CursorAudit extends Context.Service<
  CursorAudit,
  { readonly checks: Effect.Effect<ReadonlyArray<CursorCheck>> }
>()("@bg-ingest/test/CursorAudit") {}

/**
 * A `ConnectionStore` that, before persisting a new cursor, waits until the consumer (connected to the broker
 * directly, not through the proxy) has received the event of every stored reading before that cursor, and records
 * what never came. An event confirmed by the broker reaches the consumer's queue, so a cursor that passed only
 * confirmed events shows nothing missing.
 */
const auditedConnections = Layer.effectContext(
  Effect.gen(function* () {
    const inner = yield* ConnectionStore
    const readings = yield* ReadingStore
    const consumer = yield* TestConsumer
    const checks: Array<CursorCheck> = []
    const store = ConnectionStore.of({
      ...inner,
      update: (userId, provider, patch) =>
        Effect.gen(function* () {
          const cursor = patch.syncedThrough
          if (cursor !== undefined && cursor !== null) {
            const current = Option.getOrThrow(yield* inner.get(userId, provider))
            const before = yield* readings
              .range(userId, makeWindow(current.backfillFrom, cursor), 1_000_000)
              .pipe(Effect.orDie)
            // Once one cursor is caught, the others need not wait: the test fails either way.
            const patience = checks.some((check) => check.missing.length > 0) ? 0 : 5_000
            const missing = yield* consumer.missingEventIds(before.map(readingEventId), patience)
            checks.push({ cursor, readingsBefore: before.length, missing })
          }
          return yield* inner.update(userId, provider, patch)
        })
    })
    return Context.make(ConnectionStore, store).pipe(
      Context.add(CursorAudit, CursorAudit.of({ checks: Effect.sync(() => checks.slice()) }))
    )
  })
).pipe(Layer.provide(InMemoryConnectionStore.layer))

/** The tests run at this instant (the simulator's data, the windows), with real sleeps and a real broker. */
const NOW = "2026-02-10T12:00:00Z"

/** `[epoch second, mg/dL]` of what the simulator measured for `userId` in `[from, to)`. */
const simulated = (userId: UserId, from: DateTime.Utc, to: DateTime.Utc) =>
  modelReadings(profileOf(userId), DateTime.toEpochMillis(from) / 1000, DateTime.toEpochMillis(to) / 1000)
    .filter((record) => record.value !== null)
    .map((record) => [record.epochSeconds, record.value])

const pairs = (readings: ReadonlyArray<{ readonly timestamp: DateTime.Utc; readonly glucoseMgDl: number }>) =>
  readings.map((reading) => [DateTime.toEpochMillis(reading.timestamp) / 1000, reading.glucoseMgDl])

const everyStoredReading = (userId: UserId, from: DateTime.Utc) =>
  Effect.gen(function* () {
    const readings = yield* ReadingStore
    const now = yield* DateTime.now
    return yield* readings.range(userId, makeWindow(from, DateTime.add(now, { minutes: 5 })), 1_000_000)
  })

describeWithBroker("RabbitMQ outages and crashes, through Sync and Ingest", availability, () => {
  it.live(
    "a broker outage in the middle of a backfill loses no event, and the cursor never passes an unconfirmed one",
    () =>
      Effect.gen(function* () {
        const proxy = yield* makeTcpProxy(brokerUrl)
        const exchange = uniqueName("test.outage")
        const base = Layer.mergeAll(InMemoryReadingStore.layer, TestConsumer.layer({ url: brokerUrl, exchange }))
        const stores = auditedConnections.pipe(Layer.provideMerge(base))
        const app = syncLayer(stores, publisherLayer(proxy.urlFor(brokerUrl), exchange))

        yield* Effect.gen(function* () {
          const connections = yield* ConnectionStore
          const readings = yield* ReadingStore
          const sync = yield* Sync
          const consumer = yield* TestConsumer
          const audit = yield* CursorAudit
          const now = yield* DateTime.now
          const userId = user("outage-user")
          const backfillFrom = DateTime.subtract(now, { days: 15 })
          yield* connections.upsert(
            connection(userId, SIMULATOR_PROVIDER_ID, { backfillFrom, nextPollAt: now, createdAt: now, updatedAt: now })
          )

          // About 1,800 messages in, the network goes away, in the middle of a window's publish.
          yield* proxy.cutAfterBytes(1_000_000)
          const failure = yield* sync.sync(userId, SIMULATOR_PROVIDER_ID).pipe(Effect.flip)
          assert.instanceOf(failure, EventPublishError)
          assert.include(["closed", "unavailable"], (failure as EventPublishError).reason)
          const failed = Option.getOrThrow(yield* connections.get(userId, SIMULATOR_PROVIDER_ID))
          assert.strictEqual(failed.status, "error")
          assert.isNotNull(failed.syncedThrough)
          const cursorAtOutage = failed.syncedThrough!
          assert.isTrue(DateTime.isGreaterThan(cursorAtOutage, backfillFrom))
          assert.isTrue(DateTime.isLessThan(cursorAtOutage, DateTime.subtract(now, { days: 3 })))
          // Readings past the cursor were stored, and still owe their events.
          assert.isAbove((yield* readings.unpublished(1_000_000)).length, 0)

          yield* proxy.restore
          const result = yield* sync
            .sync(userId, SIMULATOR_PROVIDER_ID)
            .pipe(Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo({ times: 50 }))))
          assert.isTrue(DateTime.isGreaterThan(result.syncedThrough, DateTime.subtract(now, { minutes: 10 })))

          const stored = yield* everyStoredReading(userId, backfillFrom)
          assert.deepStrictEqual(pairs(stored), simulated(userId, backfillFrom, result.syncedThrough))
          assert.deepStrictEqual(yield* consumer.missingEventIds(stored.map(readingEventId)), [])
          assert.deepStrictEqual(yield* readings.unpublished(1_000_000), [])

          const checks = yield* audit.checks
          assert.isAtLeast(checks.length, 30)
          for (const check of checks)
            assert.deepStrictEqual(check.missing, [], `cursor ${DateTime.formatIso(check.cursor)}`)
          assert.isTrue(checks.some((check) => DateTime.isGreaterThan(check.cursor, cursorAtOutage)))
          assert.isTrue(checks.some((check) => check.readingsBefore >= stored.length))
        }).pipe(Effect.provide(app))
      }).pipe(manualClock(NOW).provide),
    60_000
  )

  it.live("a process that dies between storing and publishing: the next sync publishes what the outbox owes", () =>
    Effect.gen(function* () {
      const directory = yield* scratchDirectory
      const filename = join(directory, "bg-ingest.db")
      const exchange = uniqueName("test.crash")
      const consumer = Context.get(yield* Layer.build(TestConsumer.layer({ url: brokerUrl, exchange })), TestConsumer)
      const sqliteStores = () =>
        Layer.mergeAll(SqliteReadingStore.layer, SqliteConnectionStore.layer).pipe(
          Layer.provideMerge(SqliteDatabase.layer({ filename }))
        )
      const userId = user("crash-user")

      // The first process publishes two windows, then dies while the third is stored but not yet published.
      const dying = yield* Deferred.make<void>()
      const dyingPublisher = Layer.effect(
        EventPublisher,
        Effect.gen(function* () {
          const real = yield* EventPublisher
          let calls = 0
          return EventPublisher.of({
            ...real,
            publish: (events) =>
              Effect.suspend(() =>
                ++calls <= 2
                  ? real.publish(events)
                  : Deferred.succeed(dying, undefined).pipe(Effect.andThen(Effect.never))
              )
          })
        })
      ).pipe(Layer.provide(publisherLayer(brokerUrl, exchange)))
      const backfillFrom = yield* Effect.map(DateTime.now, (now) => DateTime.subtract(now, { days: 3 }))

      const owed = yield* Effect.gen(function* () {
        const now = yield* DateTime.now
        yield* (yield* ConnectionStore).upsert(
          connection(userId, SIMULATOR_PROVIDER_ID, { backfillFrom, nextPollAt: now, createdAt: now, updatedAt: now })
        )
        const running = yield* (yield* Sync).sync(userId, SIMULATOR_PROVIDER_ID).pipe(Effect.forkChild)
        yield* Deferred.await(dying)
        yield* Fiber.interrupt(running)
        return yield* (yield* ReadingStore).unpublished(1_000_000)
      }).pipe(Effect.provide(syncLayer(sqliteStores(), dyingPublisher)))

      // Owed: the third 12-hour window, stored but never published. Received: the first two.
      const hours = (count: number) => DateTime.add(backfillFrom, { hours: count })
      assert.deepStrictEqual(
        pairs(owed.map((change) => change.reading)).sort((a, b) => a[0]! - b[0]!),
        simulated(userId, hours(24), hours(36))
      )
      const published = simulated(userId, hours(0), hours(24)).length
      yield* consumer.awaitCount(published)
      const receivedBeforeRestart = yield* consumer.eventIds
      assert.strictEqual(receivedBeforeRestart.size, published)
      for (const change of owed) assert.isFalse(receivedBeforeRestart.has(readingEventId(change.reading)))

      // The next process, on the same database, with a working publisher.
      yield* Effect.gen(function* () {
        yield* (yield* Sync).sync(userId, SIMULATOR_PROVIDER_ID)
        assert.deepStrictEqual(
          yield* consumer.missingEventIds(owed.map((change) => readingEventId(change.reading))),
          []
        )
        const stored = yield* everyStoredReading(userId, backfillFrom)
        assert.deepStrictEqual(yield* consumer.missingEventIds(stored.map(readingEventId)), [])
        assert.deepStrictEqual(yield* (yield* ReadingStore).unpublished(1_000_000), [])
      }).pipe(Effect.provide(syncLayer(sqliteStores(), publisherLayer(brokerUrl, exchange))))
    }).pipe(manualClock(NOW).provide)
  )

  it.live("a publish that fails once leaves events owed; the scheduler's next cycle re-publishes them", () =>
    Effect.gen(function* () {
      const exchange = uniqueName("test.fail-once")
      const failingOnce = Layer.effect(
        EventPublisher,
        Effect.gen(function* () {
          const real = yield* EventPublisher
          let calls = 0
          return EventPublisher.of({
            ...real,
            publish: (events) =>
              Effect.suspend(() =>
                ++calls === 2
                  ? Effect.fail(new EventPublishError({ reason: "unavailable", message: "simulated outage" }))
                  : real.publish(events)
              )
          })
        })
      ).pipe(Layer.provide(publisherLayer(brokerUrl, exchange)))
      const stores = Layer.mergeAll(InMemoryReadingStore.layer, InMemoryConnectionStore.layer)
      const app = syncLayer(stores, failingOnce).pipe(
        Layer.provideMerge(TestConsumer.layer({ url: brokerUrl, exchange }))
      )
      yield* Effect.gen(function* () {
        const scheduler = yield* Scheduler
        const readings = yield* ReadingStore
        const consumer = yield* TestConsumer
        const now = yield* DateTime.now
        const userId = user("fail-once-user")
        const backfillFrom = DateTime.subtract(now, { days: 2 })
        yield* (yield* ConnectionStore).upsert(
          connection(userId, SIMULATOR_PROVIDER_ID, { backfillFrom, nextPollAt: now, createdAt: now, updatedAt: now })
        )

        const first = yield* scheduler.runCycle
        assert.deepStrictEqual({ claimed: first.claimed, failed: first.failed }, { claimed: 1, failed: 1 })
        // The second 12-hour window's publish failed: its readings are stored and owe their events.
        const owed = yield* readings.unpublished(1_000_000)
        assert.deepStrictEqual(
          pairs(owed.map((change) => change.reading)).sort((a, b) => a[0]! - b[0]!),
          simulated(userId, DateTime.add(backfillFrom, { hours: 12 }), DateTime.add(backfillFrom, { hours: 24 }))
        )

        const second = yield* scheduler.runCycle
        assert.strictEqual(second.republished, owed.length)
        assert.deepStrictEqual(
          yield* consumer.missingEventIds(owed.map((change) => readingEventId(change.reading))),
          []
        )
        assert.deepStrictEqual(yield* readings.unpublished(1_000_000), [])
      }).pipe(Effect.provide(app))
    }).pipe(manualClock(NOW).provide)
  )
})
