import { EventPublishError } from "@bg-ingest/domain"
import type * as amqp from "amqplib"
import { Deferred, Duration, Effect, Exit } from "effect"
import type { BrokerSession } from "./BrokerSession.ts"
import type { RabbitMqPublisherSettings } from "./RabbitMqSettings.ts"

export interface OutgoingMessage {
  readonly messageId: string
  readonly routingKey: string
  readonly body: Buffer
  readonly options: amqp.Options.Publish
}

// amqplib's confirm callbacks receive this error for a basic.nack; every other error means the channel closed.
const NACKED = "message nacked"

/** How many watchdog ticks make one `confirmTimeout`. */
const TICKS_PER_TIMEOUT = 10

/**
 * The confirms owed for one publish call: done when all arrived, failed at the first that went wrong. It counts
 * its progress (confirms, room in the buffer) so that the watchdog can time it out when it has none.
 */
export class ConfirmTracker {
  outstanding: number
  failure: EventPublishError | undefined = undefined
  readonly done = Deferred.makeUnsafe<void, EventPublishError>()
  #progress = 0
  #progressSeen = 0
  #idleTicks = 0
  #wake: Deferred.Deferred<void> | undefined = undefined
  readonly #session: BrokerSession
  readonly #settings: RabbitMqPublisherSettings

  constructor(count: number, session: BrokerSession, settings: RabbitMqPublisherSettings) {
    this.outstanding = count
    this.#session = session
    this.#settings = settings
  }

  fail(error: EventPublishError): void {
    if (this.failure !== undefined) return
    this.failure = error
    Deferred.doneUnsafe(this.done, Exit.fail(error))
    if (this.#wake !== undefined) Deferred.doneUnsafe(this.#wake, Exit.void)
  }

  confirmed(messageId: string, error: unknown): void {
    // The broker sends basic.return before the ack of the same message, so the return is already recorded.
    const returned = this.#session.returned.size > 0 && this.#session.takeReturned(messageId)
    if (this.failure !== undefined) return
    this.#progress += 1
    if (error) {
      const nacked = error instanceof Error && error.message === NACKED
      this.fail(nacked ? this.#nacked(messageId) : this.closed())
    } else if (returned && this.#settings.unroutable === "fail") {
      this.fail(this.#unroutable(messageId))
    } else if (--this.outstanding === 0) {
      Deferred.doneUnsafe(this.done, Exit.void)
    }
  }

  /** A message that was never written (set aside: it cannot be encoded) is owed no confirm. */
  skipped(): void {
    if (this.failure !== undefined) return
    this.#progress += 1
    if (--this.outstanding === 0) Deferred.doneUnsafe(this.done, Exit.void)
  }

  /** A deferred completed at the session's next `drain`, or when this publish fails. */
  awaitDrain(): Deferred.Deferred<void> {
    const wake = Deferred.makeUnsafe<void>()
    this.#wake = wake
    this.#session.onDrain(() => {
      this.#progress += 1
      Deferred.doneUnsafe(wake, Exit.void)
    })
    return wake
  }

  /** Called by the watchdog every `confirmTimeout / TICKS_PER_TIMEOUT`; times out a publish without progress. */
  tick(): void {
    if (this.failure !== undefined) return
    if (this.#progress !== this.#progressSeen) {
      this.#progressSeen = this.#progress
      this.#idleTicks = 0
    } else if (++this.#idleTicks >= TICKS_PER_TIMEOUT) {
      this.fail(
        new EventPublishError({
          reason: "timeout",
          message: `RabbitMQ at ${this.#settings.broker} confirmed nothing and took no more messages for ${Duration.format(this.#settings.confirmTimeout)} (${this.outstanding} event(s) unconfirmed)`
        })
      )
    }
  }

  closed(cause?: unknown): EventPublishError {
    const why = this.#session.lastError ?? "the connection or channel closed"
    return new EventPublishError({
      reason: "closed",
      message: `The channel to RabbitMQ at ${this.#settings.broker} closed before ${this.outstanding} event(s) were confirmed: ${why}`,
      cause
    })
  }

  #nacked(messageId: string): EventPublishError {
    return new EventPublishError({
      reason: "nacked",
      message: `RabbitMQ at ${this.#settings.broker} refused (nacked) event ${messageId} on exchange ${this.#settings.exchange}: a queue rejected it (full with overflow reject-publish) or the broker failed to store it`
    })
  }

  #unroutable(messageId: string): EventPublishError {
    return new EventPublishError({
      reason: "unroutable",
      message: `Event ${messageId} matched no queue bound to exchange ${this.#settings.exchange} on RabbitMQ at ${this.#settings.broker}; bind a queue (routing key bg.reading.*) or set RABBITMQ_UNROUTABLE=drop`
    })
  }
}

/**
 * Publishes from message `from` on until all are written or the channel's write buffer is full; answers where it
 * stopped, and when full, the deferred to wait on. Plain code: this is the per-message hot path. Messages are
 * built as they are written, so the broker works on the first ones while the rest are encoded; `messageAt`
 * answers undefined for a message set aside (never written, owed no confirm).
 */
const writeUntilFull = (
  session: BrokerSession,
  exchange: string,
  count: number,
  messageAt: (index: number) => OutgoingMessage | undefined,
  from: number,
  tracker: ConfirmTracker
): { readonly next: number; readonly drained?: Deferred.Deferred<void> } => {
  const channel = session.channel
  let index = from
  while (index < count) {
    const message = messageAt(index++)
    if (message === undefined) {
      tracker.skipped()
      continue
    }
    const messageId = message.messageId
    let accepted: boolean
    try {
      accepted = channel.publish(exchange, message.routingKey, message.body, message.options, (error: unknown) =>
        tracker.confirmed(messageId, error)
      )
    } catch (error) {
      // amqplib throws once the channel is closed or closing.
      tracker.fail(tracker.closed(error))
      return { next: count }
    }
    if (!accepted && index < count) return { next: index, drained: tracker.awaitDrain() }
  }
  return { next: index }
}

/**
 * Publishes `count` messages on the session's confirm channel and succeeds once the broker has confirmed them all.
 * Respects back-pressure: when the channel's buffer is full it waits for `drain`. The watchdog fails it with
 * reason `timeout` when it makes no progress for `confirmTimeout`.
 */
export const publishConfirmed = Effect.fnUntraced(function* (
  tracker: ConfirmTracker,
  session: BrokerSession,
  settings: RabbitMqPublisherSettings,
  count: number,
  messageAt: (index: number) => OutgoingMessage | undefined
) {
  let next = 0
  while (next < count && tracker.failure === undefined) {
    const written = writeUntilFull(session, settings.exchange, count, messageAt, next, tracker)
    next = written.next
    if (written.drained !== undefined) {
      yield* Deferred.await(written.drained)
      if (!session.isOpen) tracker.fail(tracker.closed())
    }
  }
  yield* Deferred.await(tracker.done)
})

/**
 * Times out the publishes in progress that made no progress for `confirmTimeout`: one fiber for the layer rather
 * than a timer per publish, which would double the cost of a small publish.
 */
export const watchConfirms = Effect.fnUntraced(function* (
  inFlight: ReadonlySet<ConfirmTracker>,
  settings: RabbitMqPublisherSettings
) {
  const tick = Duration.max(Duration.millis(5), Duration.divideUnsafe(settings.confirmTimeout, TICKS_PER_TIMEOUT))
  while (true) {
    yield* Effect.sleep(tick)
    for (const tracker of inFlight) tracker.tick()
  }
})
