import { join } from "node:path"
import { RabbitMqEventPublisher } from "@bg-ingest/adapters/rabbitmq"
import { makeSimulatorProvider, SIMULATOR_PROVIDER_ID } from "@bg-ingest/adapters/simulator"
import { SqliteDatabase, SqliteReadingStore } from "@bg-ingest/adapters/sqlite"
import {
  ConnectionStore,
  EventPublisher,
  makeReading,
  makeReadingEvent,
  newConnection,
  ProviderId,
  ReadingStore,
  readingEventId,
  Scheduler,
  UserId
} from "@bg-ingest/domain"
import { assert, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { domainLayerPublishingTo } from "../../support/domain.ts"
import { seriesValue } from "../../support/metrics.ts"
import { describeWithBroker, resolveTestBroker, TestConsumer, uniqueName } from "../../support/rabbitmq.ts"
import { get, testServer } from "../../support/server.ts"
import { scratchDirectory } from "../../support/sqlite.ts"

const availability = await resolveTestBroker()

const publisherLayer = (url: string, exchange: string) =>
  RabbitMqEventPublisher.layer({ url: Redacted.make(url), exchange, confirmTimeout: "5 seconds" })

describeWithBroker(
  "RabbitMQ: an event that cannot be encoded is set aside, never failing the others",
  availability,
  (broker) => {
    it.live("publish: the encodable events are confirmed and delivered, the other is counted", () => {
      const exchange = uniqueName("test.poison")
      return Effect.gen(function* () {
        const publisher = yield* EventPublisher
        const consumer = yield* TestConsumer
        const now = yield* DateTime.now
        const provider = ProviderId.make("webhook")
        const good = makeReading({
          userId: UserId.make("u1"),
          timestamp: DateTime.subtract(now, { minutes: 1 }),
          glucoseMgDl: 100,
          source: { provider, recordId: null }
        })
        const poison = { ...good, timestamp: DateTime.makeUnsafe(Date.UTC(10000, 0, 1)) }
        yield* publisher.publish([
          makeReadingEvent({ kind: "created", reading: poison }, now),
          makeReadingEvent({ kind: "created", reading: good }, now)
        ])
        const received = yield* consumer.awaitCount(1)
        assert.deepStrictEqual(
          received.map((message) => message.properties.messageId),
          [readingEventId(good)]
        )
      }).pipe(
        Effect.provide(
          Layer.mergeAll(publisherLayer(broker.url, exchange), TestConsumer.layer({ url: broker.url, exchange }))
        )
      )
    })

    it.live("a scheduler cycle over poison stored before still syncs everyone (it stopped every sync)", () => {
      const exchange = uniqueName("test.poison")
      const core = Layer.unwrap(
        Effect.map(scratchDirectory, (directory) => {
          const database = SqliteDatabase.layer({ filename: join(directory, "bg-ingest.db") })
          return domainLayerPublishingTo([makeSimulatorProvider()], publisherLayer(broker.url, exchange), {
            readingStore: SqliteReadingStore.layer.pipe(Layer.provideMerge(database))
          }).pipe(Layer.provideMerge(database))
        })
      )
      return Effect.gen(function* () {
        const { db } = yield* SqliteDatabase
        const insert = db.prepare(
          `INSERT INTO readings (user_id, ts, glucose_mg_dl, trend, trend_rate, status, provider, record_id,
           display_time, ingested_at, updated_at, revision, pending_event)
         VALUES (?, ?, 120, ?, NULL, 'ok', 'webhook', NULL, NULL, 1, 1, 0, 'created')`
        )
        // What the old code let in: a year-10000 instant, and a row no contract can carry (unknown trend).
        insert.run("attacker", Math.floor(Date.UTC(10000, 0, 1) / 1000), "flat")
        insert.run("attacker", Math.floor(Date.UTC(2026, 0, 1) / 1000), "sideways")
        const now = yield* DateTime.now
        yield* (yield* ConnectionStore).upsert(
          newConnection({
            userId: UserId.make("someone"),
            provider: SIMULATOR_PROVIDER_ID,
            credentials: null,
            backfillFrom: DateTime.subtract(now, { hours: 1 }),
            now
          })
        )
        const setAside = (where: string) =>
          Effect.map(get("/metrics"), (answer) =>
            seriesValue(answer.body, `bg_ingest_set_aside_total{kind="event",where="${where}"}`)
          )
        const before = [yield* setAside("sqlite"), yield* setAside("rabbitmq")]
        const report = yield* Scheduler.use((scheduler) => scheduler.runCycle)
        assert.deepStrictEqual([report.claimed, report.succeeded], [1, 1])
        const connections = yield* get("/api/bg/someone/connections")
        assert.isNotNull(connections.body[0].last_sync_at)
        assert.deepStrictEqual(yield* ReadingStore.use((store) => store.unpublished(100)), [])
        const received = yield* (yield* TestConsumer).awaitCount(10)
        assert.isAtLeast(received.length, 10)
        assert.isTrue(received.every((message) => JSON.parse(message.content.toString()).user_id === "someone"))
        assert.deepStrictEqual(
          [yield* setAside("sqlite"), yield* setAside("rabbitmq")],
          [before[0]! + 1, before[1]! + 1]
        )
      }).pipe(
        Effect.provide(
          testServer(core).pipe(
            Layer.provideMerge(core),
            Layer.provideMerge(TestConsumer.layer({ url: broker.url, exchange }))
          )
        ),
        Effect.scoped
      )
    })
  }
)
