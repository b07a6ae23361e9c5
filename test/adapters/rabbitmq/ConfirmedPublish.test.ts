import { EventEmitter } from "node:events"
import { assert, describe, it } from "@effect/vitest"
import type * as amqp from "amqplib"
import { Effect, Fiber, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { BrokerSession } from "../../../packages/adapters/src/rabbitmq/BrokerSession.ts"
import {
  ConfirmTracker,
  type OutgoingMessage,
  publishConfirmed,
  watchConfirms
} from "../../../packages/adapters/src/rabbitmq/ConfirmedPublish.ts"
import {
  type RabbitMqPublisherOptions,
  resolveSettings
} from "../../../packages/adapters/src/rabbitmq/RabbitMqSettings.ts"

/** A confirm channel in memory: its buffer holds `capacity` messages until `drain`; confirms are sent by hand. */
class FakeChannel extends EventEmitter {
  readonly published: Array<{ readonly messageId: string; readonly confirm: (error: unknown) => void }> = []
  /** How many messages were written while the buffer was full (publish had already said false). */
  writesWhileFull = 0
  #buffered = 0
  #full = false
  #closed = false
  readonly capacity: number

  constructor(capacity: number) {
    super()
    this.capacity = capacity
  }

  publish(
    _exchange: string,
    _key: string,
    _body: Buffer,
    options: amqp.Options.Publish,
    confirm: (e: unknown) => void
  ) {
    if (this.#closed) throw new Error("Channel closed")
    if (this.#full) this.writesWhileFull += 1
    this.published.push({ messageId: String(options.messageId), confirm })
    this.#buffered += 1
    this.#full = this.#buffered >= this.capacity
    return !this.#full
  }

  drain() {
    this.#buffered = 0
    this.#full = false
    this.emit("drain")
  }

  ackAll() {
    for (const message of this.published.splice(0)) message.confirm(null)
  }

  closeByBroker() {
    this.#closed = true
    this.emit("error", new Error("Channel closed by server: 404 (NOT-FOUND)"))
    // As amqplib does: fail the unconfirmed messages, then tell the listeners.
    for (const message of this.published.splice(0)) message.confirm(new Error("channel closed"))
    this.emit("close")
  }

  async close() {}
}

const fakeSession = (capacity = 1000) => {
  const connection = Object.assign(new EventEmitter(), { close: async () => {} })
  const channel = new FakeChannel(capacity)
  const session = new BrokerSession(
    connection as unknown as amqp.ChannelModel,
    channel as unknown as amqp.ConfirmChannel
  )
  return { session, channel }
}

const settingsOf = (options: Partial<RabbitMqPublisherOptions> = {}) =>
  resolveSettings(
    { url: Redacted.make("amqp://broker.test"), confirmTimeout: "10 seconds", ...options },
    "amqp://broker.test"
  )

const messages = (count: number): ReadonlyArray<OutgoingMessage> =>
  Array.from({ length: count }, (_, index) => ({
    messageId: `event-${index}`,
    routingKey: "bg.reading.created",
    body: Buffer.from("{}"),
    options: { messageId: `event-${index}`, mandatory: true }
  }))

const start = (
  session: BrokerSession,
  settings: ReturnType<typeof settingsOf>,
  batch: ReadonlyArray<OutgoingMessage>,
  inFlight?: Set<ConfirmTracker>
) => {
  const tracker = new ConfirmTracker(batch.length, session, settings)
  inFlight?.add(tracker)
  return publishConfirmed(tracker, session, settings, batch.length, (index) => batch[index]!).pipe(Effect.forkChild)
}

describe("publishConfirmed", () => {
  it.effect("stops writing when the channel's buffer is full and resumes at drain", () =>
    Effect.gen(function* () {
      const { session, channel } = fakeSession(100)
      const publishing = yield* start(session, settingsOf(), messages(250))
      yield* Effect.yieldNow
      assert.strictEqual(channel.published.length, 100)
      channel.drain()
      yield* Effect.yieldNow
      assert.strictEqual(channel.published.length, 200)
      channel.drain()
      yield* Effect.yieldNow
      assert.strictEqual(channel.published.length, 250)
      assert.strictEqual(channel.writesWhileFull, 0)
      assert.isUndefined(publishing.pollUnsafe())
      channel.ackAll()
      yield* Fiber.join(publishing)
    })
  )

  it.effect("succeeds only when every message is confirmed", () =>
    Effect.gen(function* () {
      const { session, channel } = fakeSession()
      const publishing = yield* start(session, settingsOf(), messages(3))
      yield* Effect.yieldNow
      channel.published[0]!.confirm(null)
      channel.published[1]!.confirm(null)
      yield* Effect.yieldNow
      assert.isUndefined(publishing.pollUnsafe())
      channel.published[2]!.confirm(null)
      yield* Fiber.join(publishing)
    })
  )

  it.effect("a nack fails with reason nacked", () =>
    Effect.gen(function* () {
      const { session, channel } = fakeSession()
      const publishing = yield* start(session, settingsOf(), messages(3))
      yield* Effect.yieldNow
      channel.published[0]!.confirm(null)
      channel.published[1]!.confirm(new Error("message nacked"))
      const error = yield* Fiber.join(publishing).pipe(Effect.flip)
      assert.strictEqual(error.reason, "nacked")
      assert.include(error.message, "event-1")
    })
  )

  it.effect("a message returned before its ack fails with reason unroutable, unless the policy drops it", () =>
    Effect.gen(function* () {
      for (const unroutable of ["fail", "drop"] as const) {
        const { session, channel } = fakeSession()
        const publishing = yield* start(session, settingsOf({ unroutable }), messages(2))
        yield* Effect.yieldNow
        channel.emit("return", { properties: { messageId: "event-1" } })
        channel.ackAll()
        const exit = yield* Fiber.await(publishing)
        if (unroutable === "fail") {
          assert.isTrue(exit._tag === "Failure")
          const error = yield* Fiber.join(publishing).pipe(Effect.flip)
          assert.strictEqual(error.reason, "unroutable")
        } else {
          assert.strictEqual(exit._tag, "Success")
        }
        assert.strictEqual(session.returned.size, 0)
      }
    })
  )

  it.effect("a channel the broker closes fails with reason closed and ends the session", () =>
    Effect.gen(function* () {
      const { session, channel } = fakeSession(10)
      const publishing = yield* start(session, settingsOf(), messages(25))
      yield* Effect.yieldNow
      channel.closeByBroker()
      const error = yield* Fiber.join(publishing).pipe(Effect.flip)
      assert.strictEqual(error.reason, "closed")
      assert.include(error.message, "404")
      assert.isFalse(session.isOpen)
    })
  )

  it.effect("without progress for confirmTimeout it fails with reason timeout; progress resets the clock", () =>
    Effect.gen(function* () {
      const { session, channel } = fakeSession()
      const settings = settingsOf({ confirmTimeout: "10 seconds" })
      const inFlight = new Set<ConfirmTracker>()
      yield* watchConfirms(inFlight, settings).pipe(Effect.forkChild)
      const publishing = yield* start(session, settings, messages(3), inFlight)
      yield* Effect.yieldNow
      yield* TestClock.adjust("8 seconds")
      channel.published[0]!.confirm(null)
      yield* TestClock.adjust("8 seconds")
      assert.isUndefined(publishing.pollUnsafe())
      yield* TestClock.adjust("4 seconds")
      const error = yield* Fiber.join(publishing).pipe(Effect.flip)
      assert.strictEqual(error.reason, "timeout")
      assert.include(error.message, "2 event(s) unconfirmed")
    })
  )
})
