import { countSetAside, EventPublishError, EventPublisher, failureBackoff, type ReadingEvent } from "@bg-ingest/domain"
import type * as amqp from "amqplib"
import { type Config, Deferred, Duration, Effect, Exit, Layer, Option, Random, Redacted, Schema } from "effect"
import { type BrokerConnectError, BrokerSession } from "./BrokerSession.ts"
import { ConfirmTracker, type OutgoingMessage, publishConfirmed, watchConfirms } from "./ConfirmedPublish.ts"
import {
  type RabbitMqPublisherOptions,
  type RabbitMqPublisherSettings,
  rabbitMqPublisherConfig,
  resolveSettings
} from "./RabbitMqSettings.ts"
import { messagePropertiesOf, ReadingEventJson, toReadingEventBody } from "./ReadingEventMessage.ts"

const encodeBody = Schema.encodeSync(ReadingEventJson)

const toOutgoing = (event: ReadingEvent, mandatory: boolean): OutgoingMessage => {
  const options: amqp.Options.Publish = { ...messagePropertiesOf(event), mandatory }
  return {
    messageId: event.eventId,
    routingKey: event.type,
    body: Buffer.from(encodeBody(toReadingEventBody(event))),
    options
  }
}

/** What the layer shares between `publish`, `ping`, the reconnection loop and the shutdown. */
class PublisherState {
  session: BrokerSession | undefined = undefined
  /** Why the broker is not connected, for `ping` and `publish` failures. */
  lastError: string | null = null
  closing = false
  readonly inFlight = new Set<ConfirmTracker>()
  /** Completed when the last publish in progress ends, once shutdown waits for it. */
  idle: Deferred.Deferred<void> | undefined = undefined
}

const unavailable = (settings: RabbitMqPublisherSettings, state: PublisherState): EventPublishError => {
  if (state.closing) {
    return new EventPublishError({ reason: "unavailable", message: "The RabbitMQ publisher is shutting down" })
  }
  const blocked = state.session?.isOpen === true ? state.session.blockedReason : null
  if (blocked !== null) {
    return new EventPublishError({
      reason: "unavailable",
      message: `RabbitMQ at ${settings.broker} is blocking publishers: ${blocked}`
    })
  }
  const why = state.lastError === null ? "" : ` (last error: ${state.lastError})`
  return new EventPublishError({
    reason: "unavailable",
    message: `Not connected to RabbitMQ at ${settings.broker}; reconnecting${why}`
  })
}

/** The open, unblocked session, or the reason there is none. */
const usableSession = (settings: RabbitMqPublisherSettings, state: PublisherState) =>
  Effect.suspend(() => {
    const session = state.session
    return !state.closing && session !== undefined && session.isOpen && session.blockedReason === null
      ? Effect.succeed(session)
      : Effect.fail(unavailable(settings, state))
  })

const makePublisher = Effect.fnUntraced(function* (options: RabbitMqPublisherOptions) {
  const settings = resolveSettings(options, Redacted.value(options.url))
  const state = new PublisherState()
  const mandatory = settings.unroutable === "fail"
  const logged = Effect.annotateLogs({ broker: settings.broker, exchange: settings.exchange })

  // Registered first, so it runs last: after the reconnection loop has been interrupted.
  yield* Effect.addFinalizer(() => shutdown(settings, state).pipe(logged))

  const adopt = (session: BrokerSession) => {
    state.session = session
  }

  const first = yield* BrokerSession.open(settings, adopt).pipe(
    Effect.map(Option.some),
    Effect.catch((error) => {
      // Credentials, vhost or exchange the broker refuses: a configuration error; stop the start-up.
      if (error.kind === "refused") return Effect.fail(error)
      state.lastError = error.message
      return Effect.logWarning("RabbitMQ is unreachable; starting anyway and reconnecting in the background").pipe(
        Effect.annotateLogs({ reason: error.message }),
        Effect.as(Option.none<BrokerSession>())
      )
    }),
    logged
  )
  if (Option.isSome(first)) yield* Effect.logInfo("Connected to RabbitMQ").pipe(logged)
  yield* superviseConnection(settings, state, adopt, first).pipe(logged, Effect.forkScoped)
  yield* watchConfirms(state.inFlight, settings).pipe(Effect.forkScoped)

  const publish = Effect.fn("RabbitMqEventPublisher.publish")(function* (events: ReadonlyArray<ReadingEvent>) {
    if (events.length === 0) return
    yield* Effect.annotateCurrentSpan({ events: events.length, exchange: settings.exchange })
    const session = yield* usableSession(settings, state)
    const tracker = new ConfirmTracker(events.length, session, settings)
    state.inFlight.add(tracker)
    // An event the contract cannot carry (a reading stored before its instant was checked, say) is set aside, so
    // that it never blocks the others: publishing it can never succeed, and a failure here would stop every sweep.
    const setAside: Array<string> = []
    yield* publishConfirmed(tracker, session, settings, events.length, (index) => {
      const event = events[index]!
      try {
        return toOutgoing(event, mandatory)
      } catch {
        setAside.push(event.eventId)
        return undefined
      }
    }).pipe(
      Effect.ensuring(
        Effect.sync(() => {
          state.inFlight.delete(tracker)
          if (state.inFlight.size === 0 && state.idle !== undefined) Deferred.doneUnsafe(state.idle, Exit.void)
        })
      ),
      Effect.ensuring(
        Effect.suspend(() =>
          setAside.length === 0
            ? Effect.void
            : countSetAside("event", "rabbitmq", setAside.length).pipe(
                Effect.andThen(
                  Effect.logError("Events that cannot be encoded were set aside (not published)", {
                    count: setAside.length,
                    eventIds: setAside.slice(0, 20).join(",")
                  })
                )
              )
        )
      )
    )
  })

  const ping = Effect.gen(function* () {
    const session = yield* usableSession(settings, state)
    yield* Effect.tryPromise({
      try: () => session.channel.checkExchange(settings.exchange),
      catch: (cause) =>
        new EventPublishError({
          reason: "unavailable",
          message: `RabbitMQ at ${settings.broker} failed the check of exchange ${settings.exchange}: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause
        })
    }).pipe(
      Effect.timeoutOrElse({
        duration: settings.pingTimeout,
        orElse: () =>
          Effect.fail(
            new EventPublishError({
              reason: "unavailable",
              message: `RabbitMQ at ${settings.broker} did not answer within ${Duration.format(settings.pingTimeout)}`
            })
          )
      })
    )
  }).pipe(Effect.withSpan("RabbitMqEventPublisher.ping"))

  return EventPublisher.of({ publish, ping })
})

/**
 * Keeps a session open: waits for the current one to end, then reconnects with capped, jittered exponential
 * backoff, for as long as the layer lives. A refusal after start-up (rotated credentials) is retried too, as the
 * operator may fix it without a restart.
 */
const superviseConnection = Effect.fnUntraced(function* (
  settings: RabbitMqPublisherSettings,
  state: PublisherState,
  adopt: (session: BrokerSession) => void,
  first: Option.Option<BrokerSession>
) {
  let session = first
  let failures = 0
  while (true) {
    if (Option.isSome(session)) {
      failures = 0
      state.lastError = null
      const why = yield* Deferred.await(session.value.ended)
      state.lastError = why
      yield* Effect.logWarning("Lost the connection to RabbitMQ; reconnecting").pipe(
        Effect.annotateLogs({ reason: why })
      )
    }
    failures += 1
    const delay = failureBackoff(
      failures,
      settings.reconnectInitialDelay,
      settings.reconnectMaxDelay,
      yield* Random.next
    )
    yield* Effect.sleep(delay)
    session = yield* BrokerSession.open(settings, adopt).pipe(
      Effect.tap(() => Effect.logInfo("Reconnected to RabbitMQ")),
      Effect.map(Option.some),
      Effect.catch((error) =>
        Effect.sync(() => {
          state.lastError = error.message
        }).pipe(
          Effect.andThen(
            (error.kind === "refused" ? Effect.logError : Effect.logWarning)("Cannot connect to RabbitMQ").pipe(
              Effect.annotateLogs({ reason: error.message, attempt: failures })
            )
          ),
          Effect.as(Option.none<BrokerSession>())
        )
      )
    )
  }
})

/**
 * Refuses new publishes, waits (within `shutdownTimeout`) for those in progress and for every confirm still
 * outstanding on the channel, then closes the channel and the connection.
 */
const shutdown = Effect.fnUntraced(function* (settings: RabbitMqPublisherSettings, state: PublisherState) {
  state.closing = true
  const session = state.session
  state.session = undefined
  const settled = Effect.gen(function* () {
    if (state.inFlight.size > 0) {
      state.idle = Deferred.makeUnsafe<void>()
      yield* Deferred.await(state.idle)
    }
    if (session?.isOpen === true) {
      yield* Effect.tryPromise(() => session.channel.waitForConfirms()).pipe(Effect.ignore)
    }
  })
  const waited = yield* settled.pipe(Effect.timeoutOption(settings.shutdownTimeout))
  if (Option.isNone(waited)) {
    yield* Effect.logWarning(
      "Closing RabbitMQ with publishes still unconfirmed; their events stay in the outbox and are published again"
    ).pipe(Effect.annotateLogs({ publishing: state.inFlight.size }))
  }
  if (session !== undefined) {
    yield* session.close(settings.shutdownTimeout)
    yield* Effect.logInfo("Closed the RabbitMQ connection")
  }
})

/**
 * The `EventPublisher` on RabbitMQ (docs/events.md): one connection and one confirm channel owned by the layer, a
 * durable topic exchange declared at each (re)connection, one persistent message per event, confirmed.
 *
 * Start-up does not wait for the broker: when it is unreachable the layer starts, `ping` and `publish` fail with
 * reason `unavailable`, and it connects in the background. A broker that refuses the credentials, vhost or
 * exchange declaration fails the layer, since no retry fixes a wrong configuration.
 */
export const RabbitMqEventPublisher = {
  layer: (options: RabbitMqPublisherOptions): Layer.Layer<EventPublisher, BrokerConnectError> =>
    Layer.effect(EventPublisher, makePublisher(options)),
  /** Reads `RABBITMQ_URL`, `RABBITMQ_EXCHANGE`, `RABBITMQ_UNROUTABLE`, `RABBITMQ_CONFIRM_TIMEOUT_SECONDS`. */
  layerConfig: (
    overrides: Omit<RabbitMqPublisherOptions, "url" | "exchange" | "unroutable" | "confirmTimeout"> = {}
  ): Layer.Layer<EventPublisher, BrokerConnectError | Config.ConfigError> =>
    Layer.effect(
      EventPublisher,
      Effect.gen(function* () {
        const options = yield* rabbitMqPublisherConfig
        return yield* makePublisher({ ...overrides, ...options })
      })
    )
} as const
