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

/** The confirms owed for one publish call: done when all arrived, failed at the first that went wrong. */
class ConfirmTracker {
  outstanding: number
  failure: EventPublishError | undefined = undefined
  readonly done = Deferred.makeUnsafe<void, EventPublishError>()
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
  }

  confirmed(messageId: string, error: unknown): void {
    // The broker sends basic.return before the ack of the same message, so the return is already recorded.
    const returned = this.#session.returned.size > 0 && this.#session.takeReturned(messageId)
    if (this.failure !== undefined) return
    if (error) {
      const nacked = error instanceof Error && error.message === NACKED
      this.fail(nacked ? this.nacked(messageId) : this.closed())
    } else if (returned && this.#settings.unroutable === "fail") {
      this.fail(this.unroutable(messageId))
    } else if (--this.outstanding === 0) {
      Deferred.doneUnsafe(this.done, Exit.void)
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

  nacked(messageId: string): EventPublishError {
    return new EventPublishError({
      reason: "nacked",
      message: `RabbitMQ at ${this.#settings.broker} refused (nacked) event ${messageId} on exchange ${this.#settings.exchange}: a queue rejected it (full with overflow reject-publish) or the broker failed to store it`
    })
  }

  unroutable(messageId: string): EventPublishError {
    return new EventPublishError({
      reason: "unroutable",
      message: `Event ${messageId} matched no queue bound to exchange ${this.#settings.exchange} on RabbitMQ at ${this.#settings.broker}; bind a queue (routing key bg.reading.*) or set RABBITMQ_UNROUTABLE=drop`
    })
  }

  /** Gives up on the confirms still owed; any that arrive later are ignored. */
  timeout(waitingFor: string): Effect.Effect<never, EventPublishError> {
    this.fail(
      new EventPublishError({
        reason: "timeout",
        message: `RabbitMQ at ${this.#settings.broker} did not ${waitingFor} within ${Duration.format(this.#settings.confirmTimeout)} (${this.outstanding} event(s) unconfirmed)`
      })
    )
    return Effect.fail(this.failure!)
  }
}

/**
 * Publishes from `messages[from]` on until all are written or the channel's write buffer is full; answers where
 * it stopped. Plain code: this is the per-message hot path.
 */
const writeUntilFull = (
  session: BrokerSession,
  exchange: string,
  messages: ReadonlyArray<OutgoingMessage>,
  from: number,
  tracker: ConfirmTracker
): number => {
  const channel = session.channel
  let index = from
  while (index < messages.length) {
    const message = messages[index++]!
    const messageId = message.messageId
    let accepted: boolean
    try {
      accepted = channel.publish(exchange, message.routingKey, message.body, message.options, (error: unknown) =>
        tracker.confirmed(messageId, error)
      )
    } catch (error) {
      // amqplib throws once the channel is closed or closing.
      tracker.fail(tracker.closed(error))
      return messages.length
    }
    if (!accepted) return index
  }
  return index
}

/**
 * Publishes every message on the session's confirm channel and succeeds once the broker has confirmed them all.
 * Respects back-pressure: when the channel's buffer is full it waits for `drain`. Each wait, for room in the
 * buffer or for the last confirms, is bounded by `confirmTimeout`.
 */
export const publishConfirmed = Effect.fnUntraced(function* (
  session: BrokerSession,
  settings: RabbitMqPublisherSettings,
  messages: ReadonlyArray<OutgoingMessage>
) {
  const tracker = new ConfirmTracker(messages.length, session, settings)
  let next = 0
  while (next < messages.length && tracker.failure === undefined) {
    next = writeUntilFull(session, settings.exchange, messages, next, tracker)
    if (next < messages.length && tracker.failure === undefined) {
      yield* Deferred.await(session.drained).pipe(
        Effect.timeoutOrElse({
          duration: settings.confirmTimeout,
          orElse: () => tracker.timeout("make room for more messages")
        })
      )
      if (!session.isOpen) tracker.fail(tracker.closed())
    }
  }
  yield* Deferred.await(tracker.done).pipe(
    Effect.timeoutOrElse({
      duration: settings.confirmTimeout,
      orElse: () => tracker.timeout("confirm every message")
    })
  )
})
