import {
  decodeReadingEventBody,
  RabbitMqEventPublisher,
  type RabbitMqPublisherOptions
} from "@bg-ingest/adapters/rabbitmq"
import { EventPublisher, makeReadingEvent, type ReadingEvent } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import * as amqp from "amqplib"
import { Context, DateTime, Effect, Exit, Fiber, Layer, Logger, Redacted, Schedule, Scope } from "effect"
import { reading, series, T0 } from "../../support/fixtures.ts"
import {
  describeWithBroker,
  makeTcpProxy,
  resolveTestBroker,
  TestConsumer,
  uniqueName
} from "../../support/rabbitmq.ts"

const availability = await resolveTestBroker()
const brokerUrl = availability.available ? availability.broker.url : ""

const events = (count: number, userId = "u1"): ReadonlyArray<ReadingEvent> =>
  series(userId, count).map((r) => makeReadingEvent({ kind: "created", reading: r }, T0))

const publisherLayer = (url: string, exchange: string, options: Partial<RabbitMqPublisherOptions> = {}) =>
  RabbitMqEventPublisher.layer({
    url: Redacted.make(url),
    exchange,
    reconnect: { initialDelay: "50 millis", maxDelay: "300 millis" },
    ...options
  })

/** Deletes the exchange when the test ends, for tests that bind no consumer (whose release would). */
const deleteExchangeAfterwards = (exchange: string) =>
  Effect.addFinalizer(() =>
    Effect.promise(async () => {
      const connection = await amqp.connect(brokerUrl)
      const channel = await connection.createChannel()
      await channel.deleteExchange(exchange).catch(() => {})
      await connection.close().catch(() => {})
    })
  )

/** Waits until the publisher says it is connected (it reconnects by itself); the bound only stops a hang. */
const awaitReady = EventPublisher.use((publisher) =>
  publisher.ping.pipe(Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo({ times: 1200 }))))
)

describeWithBroker("RabbitMqEventPublisher", availability, () => {
  it.live("publishes one persistent message per event, with the documented body, routing key and properties", () => {
    const exchange = uniqueName("test.message")
    const occurredAt = DateTime.makeUnsafe("2026-02-01T08:35:02.250Z")
    const created = makeReadingEvent(
      {
        kind: "created",
        reading: reading("user-42", 0, 110, {
          trend: "flat",
          trendRate: 0.2,
          displayTime: "2026-02-01T00:00:00-08:00"
        })
      },
      occurredAt
    )
    const updated = makeReadingEvent(
      { kind: "updated", reading: reading("user-42", 5, 97, { trend: "singleDown", trendRate: -2.4, status: "ok" }) },
      occurredAt
    )
    return Effect.gen(function* () {
      yield* EventPublisher.use((publisher) => publisher.publish([created, updated]))
      const consumer = yield* TestConsumer
      const messages = yield* consumer.awaitCount(2)
      assert.strictEqual(messages.length, 2)
      const byType = new Map(messages.map((message) => [message.routingKey, message]))

      const first = byType.get("bg.reading.created")!
      assert.strictEqual(first.exchange, exchange)
      assert.deepStrictEqual(JSON.parse(first.content.toString("utf8")), {
        event_id: created.eventId,
        type: "bg.reading.created",
        occurred_at: "2026-02-01T08:35:02Z",
        user_id: "user-42",
        reading: {
          timestamp: "2026-02-01T08:00:00Z",
          glucose_mg_dl: 110,
          trend: "flat",
          trend_rate: 0.2,
          status: "ok",
          display_time: "2026-02-01T00:00:00-08:00"
        },
        source: { provider: "test", record_id: "rec-user-42-0" }
      })
      const decoded = yield* decodeReadingEventBody(first.content.toString("utf8"))
      assert.strictEqual(decoded.type, "bg.reading.created")
      assert.strictEqual(first.properties.messageId, created.eventId)
      assert.strictEqual(first.properties.contentType, "application/json")
      assert.strictEqual(first.properties.deliveryMode, 2)
      assert.strictEqual(first.properties.type, "bg.reading.created")
      assert.strictEqual(first.properties.timestamp, Math.floor(Date.parse("2026-02-01T08:35:02Z") / 1000))
      assert.strictEqual(first.properties.appId, "bg-ingest")

      const second = byType.get("bg.reading.updated")!
      const secondBody = yield* decodeReadingEventBody(second.content.toString("utf8"))
      assert.strictEqual(second.properties.messageId, updated.eventId)
      assert.strictEqual(second.properties.type, "bg.reading.updated")
      assert.strictEqual(second.properties.deliveryMode, 2)
      assert.strictEqual(secondBody.event_id, updated.eventId)
      assert.strictEqual(secondBody.reading.glucose_mg_dl, 97)
      assert.strictEqual(secondBody.reading.trend, "singleDown")
      assert.strictEqual(secondBody.reading.trend_rate, -2.4)
      assert.strictEqual(secondBody.reading.display_time, null)
      assert.strictEqual(DateTime.toEpochMillis(secondBody.reading.timestamp), Date.parse("2026-02-01T08:05:00Z"))
    }).pipe(
      Effect.provide(Layer.merge(publisherLayer(brokerUrl, exchange), TestConsumer.layer({ url: brokerUrl, exchange })))
    )
  })

  it.live("re-publishing an event carries the same message_id, so consumers can de-duplicate", () => {
    const exchange = uniqueName("test.dedupe")
    const batch = events(3)
    return Effect.gen(function* () {
      const publisher = yield* EventPublisher
      yield* publisher.publish(batch)
      yield* publisher.publish(batch)
      const messages = yield* (yield* TestConsumer).awaitCount(6)
      const ids = messages.map((message) => String(message.properties.messageId))
      assert.strictEqual(ids.length, 6)
      assert.deepStrictEqual([...new Set(ids)].sort(), batch.map((event) => event.eventId).sort())
    }).pipe(
      Effect.provide(Layer.merge(publisherLayer(brokerUrl, exchange), TestConsumer.layer({ url: brokerUrl, exchange })))
    )
  })

  it.live("concurrent publishes share the channel and are each confirmed whole", () => {
    const exchange = uniqueName("test.concurrent")
    const batches = Array.from({ length: 8 }, (_, index) => events(1500, `user-${index}`))
    return Effect.gen(function* () {
      const publisher = yield* EventPublisher
      yield* Effect.forEach(batches, (batch) => publisher.publish(batch), { concurrency: "unbounded" })
      const consumer = yield* TestConsumer
      yield* consumer.awaitCount(12_000)
      const ids = yield* consumer.eventIds
      assert.strictEqual(ids.size, 12_000)
      for (const batch of batches) for (const event of batch) assert.isTrue(ids.has(event.eventId))
    }).pipe(
      Effect.provide(Layer.merge(publisherLayer(brokerUrl, exchange), TestConsumer.layer({ url: brokerUrl, exchange })))
    )
  })

  describe("a message no queue takes", () => {
    it.live("fails the publish with reason unroutable by default (the events stay owed)", () => {
      const exchange = uniqueName("test.unroutable")
      return Effect.gen(function* () {
        yield* deleteExchangeAfterwards(exchange)
        const error = yield* EventPublisher.use((publisher) => publisher.publish(events(3))).pipe(Effect.flip)
        assert.strictEqual(error.reason, "unroutable")
        assert.include(error.message, exchange)
      }).pipe(Effect.provide(publisherLayer(brokerUrl, exchange)))
    })

    it.live("fails only for what is unroutable: a queue bound to created events only refuses updates", () => {
      const exchange = uniqueName("test.partial")
      const update = makeReadingEvent({ kind: "updated", reading: reading("u1", 0, 150) }, T0)
      return Effect.gen(function* () {
        const publisher = yield* EventPublisher
        yield* publisher.publish(events(2))
        const error = yield* publisher.publish([update]).pipe(Effect.flip)
        assert.strictEqual(error.reason, "unroutable")
      }).pipe(
        Effect.provide(
          Layer.merge(
            publisherLayer(brokerUrl, exchange),
            TestConsumer.layer({ url: brokerUrl, exchange, bindingKey: "bg.reading.created" })
          )
        )
      )
    })

    it.live("is dropped and confirmed with unroutable: drop", () => {
      const exchange = uniqueName("test.drop")
      return Effect.gen(function* () {
        yield* deleteExchangeAfterwards(exchange)
        const exit = yield* Effect.exit(EventPublisher.use((publisher) => publisher.publish(events(3))))
        assert.isTrue(Exit.isSuccess(exit), "confirmed although no queue took them")
      }).pipe(Effect.provide(publisherLayer(brokerUrl, exchange, { unroutable: "drop" })))
    })
  })

  it.live("a nack from the broker (a full queue with overflow reject-publish) fails with reason nacked", () => {
    const exchange = uniqueName("test.nack")
    return Effect.gen(function* () {
      const publisher = yield* EventPublisher
      yield* publisher.publish(events(3))
      const error = yield* publisher.publish(events(2, "u2")).pipe(Effect.flip)
      assert.strictEqual(error.reason, "nacked")
      // The channel survives a nack.
      yield* publisher.ping
    }).pipe(
      Effect.provide(
        Layer.merge(
          publisherLayer(brokerUrl, exchange),
          TestConsumer.layer({
            url: brokerUrl,
            exchange,
            consume: false,
            queueArguments: { "x-max-length": 3, "x-overflow": "reject-publish" }
          })
        )
      )
    )
  })

  it.live("confirms that never come fail with reason timeout after confirmTimeout", () =>
    Effect.gen(function* () {
      const proxy = yield* makeTcpProxy(brokerUrl)
      const exchange = uniqueName("test.timeout")
      yield* Effect.gen(function* () {
        const publisher = yield* EventPublisher
        yield* proxy.freeze
        // How the time is counted is ConfirmedPublish's unit test, on TestClock; here: a real broker gone silent.
        const error = yield* publisher.publish(events(5)).pipe(Effect.flip)
        assert.strictEqual(error.reason, "timeout")
        yield* proxy.thaw
        yield* publisher.publish(events(5, "u2"))
      }).pipe(
        Effect.provide(
          Layer.merge(
            publisherLayer(proxy.urlFor(brokerUrl), exchange, { confirmTimeout: "500 millis" }),
            TestConsumer.layer({ url: brokerUrl, exchange })
          )
        )
      )
    })
  )

  it.live("a connection lost mid-publish fails with reason closed; the publisher reconnects by itself", () =>
    Effect.gen(function* () {
      const proxy = yield* makeTcpProxy(brokerUrl)
      const exchange = uniqueName("test.closed")
      yield* Effect.gen(function* () {
        const publisher = yield* EventPublisher
        const consumer = yield* TestConsumer
        yield* proxy.cutAfterBytes(200_000)
        const lost = yield* publisher.publish(events(5000)).pipe(Effect.flip)
        assert.strictEqual(lost.reason, "closed")
        const down = yield* publisher.publish(events(1, "u2")).pipe(Effect.flip)
        assert.strictEqual(down.reason, "unavailable")
        assert.strictEqual((yield* publisher.ping.pipe(Effect.flip)).reason, "unavailable")

        yield* proxy.restore
        yield* awaitReady
        const after = events(100, "u3")
        yield* publisher.publish(after)
        assert.deepStrictEqual(yield* consumer.missingEventIds(after.map((event) => event.eventId)), [])
      }).pipe(
        Effect.provide(
          Layer.merge(
            publisherLayer(proxy.urlFor(brokerUrl), exchange),
            TestConsumer.layer({ url: brokerUrl, exchange })
          )
        )
      )
    })
  )

  it.live("an exchange deleted under the publisher closes the channel; reconnecting declares it again", () => {
    const exchange = uniqueName("test.redeclare")
    return Effect.gen(function* () {
      const publisher = yield* EventPublisher
      yield* publisher.publish(events(2))
      yield* Effect.promise(async () => {
        const connection = await amqp.connect(brokerUrl)
        const channel = await connection.createChannel()
        await channel.deleteExchange(exchange)
        await connection.close()
      })
      const error = yield* publisher.publish(events(2, "u2")).pipe(Effect.flip)
      assert.strictEqual(error.reason, "closed")
      yield* awaitReady
      yield* Effect.promise(async () => {
        const connection = await amqp.connect(brokerUrl)
        const channel = await connection.createChannel()
        await channel.checkExchange(exchange)
        await connection.close()
      })
    }).pipe(
      Effect.provide(publisherLayer(brokerUrl, exchange, { unroutable: "drop" })),
      Effect.andThen(deleteExchangeAfterwards(exchange))
    )
  })

  describe("start-up", () => {
    it.live(
      "with the broker down, starts without waiting for it to come, reports unavailable, and connects when it comes",
      () =>
        Effect.gen(function* () {
          const proxy = yield* makeTcpProxy(brokerUrl)
          const exchange = uniqueName("test.startup")
          // The broker refuses connections: a start-up that waited for it to come back would never finish.
          yield* proxy.cut
          const scope = yield* Scope.make()
          const context = yield* Layer.buildWithScope(
            Layer.merge(
              publisherLayer(proxy.urlFor(brokerUrl), exchange, { connectTimeout: "1 hour" }),
              TestConsumer.layer({ url: brokerUrl, exchange })
            ),
            scope
          )
          const publisher = Context.get(context, EventPublisher)
          const notReady = yield* publisher.ping.pipe(Effect.flip)
          assert.strictEqual(notReady.reason, "unavailable")
          assert.include(notReady.message, `127.0.0.1:${proxy.port}`)
          assert.strictEqual((yield* publisher.publish(events(1)).pipe(Effect.flip)).reason, "unavailable")

          yield* proxy.restore
          yield* awaitReady.pipe(Effect.provideContext(context))
          yield* publisher.publish(events(10))
          yield* Scope.close(scope, Exit.void)
        })
    )

    it.live("refused credentials fail the layer, without printing the password", () =>
      Effect.gen(function* () {
        const url = new URL(brokerUrl)
        url.password = "wrong-s3cret-password"
        const error = yield* Layer.build(publisherLayer(url.toString(), uniqueName("test.refused"))).pipe(
          Effect.scoped,
          Effect.flip
        )
        assert.strictEqual(error._tag, "BrokerConnectError")
        assert.strictEqual(error.kind, "refused")
        assert.notInclude(error.message, "wrong-s3cret-password")
        assert.notInclude(JSON.stringify(error), "wrong-s3cret-password")
      })
    )

    it.live("an exchange already declared with another type fails the layer", () => {
      const exchange = uniqueName("test.conflict")
      return Effect.gen(function* () {
        yield* deleteExchangeAfterwards(exchange)
        yield* Effect.promise(async () => {
          const connection = await amqp.connect(brokerUrl)
          const channel = await connection.createChannel()
          await channel.assertExchange(exchange, "direct", { durable: true })
          await connection.close()
        })
        const error = yield* Layer.build(publisherLayer(brokerUrl, exchange)).pipe(Effect.scoped, Effect.flip)
        assert.strictEqual(error.kind, "refused")
        assert.include(error.message, "PRECONDITION")
      })
    })

    it.live("an unknown vhost fails the layer", () =>
      Effect.gen(function* () {
        const url = new URL(brokerUrl)
        url.pathname = `/${uniqueName("no-such-vhost")}`
        const error = yield* Layer.build(publisherLayer(url.toString(), uniqueName("test.vhost"))).pipe(
          Effect.scoped,
          Effect.flip
        )
        assert.strictEqual(error.kind, "refused")
      })
    )

    it.live("logs the broker as host:port, never the URL's credentials", () =>
      Effect.gen(function* () {
        const proxy = yield* makeTcpProxy(brokerUrl)
        yield* proxy.cut
        const lines: Array<string> = []
        const capture = Logger.make((options) => {
          lines.push(JSON.stringify(Logger.formatStructured.log(options)))
        })
        const url = `amqp://someone:pa55-UNIQUE-token@127.0.0.1:${proxy.port}/`
        const broker = `127.0.0.1:${proxy.port}`
        // Until it has said that it cannot reach the broker.
        yield* Effect.gen(function* () {
          while (!lines.some((line) => line.includes(broker))) yield* Effect.sleep("20 millis")
        }).pipe(
          Effect.provide(publisherLayer(url, uniqueName("test.logs"), { connectTimeout: "1 second" })),
          Effect.provide(Logger.layer([capture]))
        )
        for (const line of lines) {
          assert.notInclude(line, "pa55-UNIQUE-token")
          assert.notInclude(line, "someone")
        }
      })
    )
  })

  describe("shutdown", () => {
    it.live("waits for the confirms of publishes in progress, then closes", () =>
      Effect.gen(function* () {
        const exchange = uniqueName("test.shutdown")
        const consumerScope = yield* Scope.make()
        const consumerContext = yield* Layer.buildWithScope(
          TestConsumer.layer({ url: brokerUrl, exchange }),
          consumerScope
        )
        const consumer = Context.get(consumerContext, TestConsumer)
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(publisherLayer(brokerUrl, exchange), scope)
        const publisher = Context.get(context, EventPublisher)
        const batch = events(10_000)
        const publishing = yield* publisher.publish(batch).pipe(Effect.forkDetach)
        while ((yield* consumer.received).length === 0) yield* Effect.sleep("1 millis")
        yield* Scope.close(scope, Exit.void)
        // The release returned only after the broker confirmed the whole batch.
        assert.isTrue(Exit.isSuccess(yield* Fiber.await(publishing)))
        const refused = yield* publisher.publish(events(1, "u2")).pipe(Effect.flip)
        assert.strictEqual(refused.reason, "unavailable")
        yield* consumer.awaitCount(10_000)
        assert.strictEqual((yield* consumer.eventIds).size, 10_000)
        yield* Scope.close(consumerScope, Exit.void)
      })
    )

    it.live("gives up after shutdownTimeout when confirms cannot come, failing the publish in progress", () =>
      Effect.gen(function* () {
        const proxy = yield* makeTcpProxy(brokerUrl)
        const exchange = uniqueName("test.shutdown-timeout")
        yield* deleteExchangeAfterwards(exchange)
        const scope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          publisherLayer(proxy.urlFor(brokerUrl), exchange, {
            unroutable: "drop",
            confirmTimeout: "1 minute",
            shutdownTimeout: "700 millis"
          }),
          scope
        )
        const publisher = Context.get(context, EventPublisher)
        yield* proxy.freeze
        const sentBefore = yield* proxy.bytesUp
        const publishing = yield* publisher.publish(events(100)).pipe(Effect.forkDetach)
        // The publish is in progress once its messages went out.
        while ((yield* proxy.bytesUp) === sentBefore) yield* Effect.sleep("5 millis")
        // The confirms cannot come and would be awaited for a minute: closing ends (the test does not hang) only
        // because the shutdown gives up after its timeout.
        yield* Scope.close(scope, Exit.void)
        // The connection it left behind goes with the process; the publish in progress then fails, never succeeds.
        yield* proxy.cut
        const exit = yield* Fiber.await(publishing)
        assert.isTrue(Exit.isFailure(exit))
      })
    )
  })
})
