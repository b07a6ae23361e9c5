import * as amqp from "amqplib"
import { Deferred, Duration, Effect, Exit, Redacted, Schema } from "effect"
import type { RabbitMqPublisherSettings } from "./RabbitMqSettings.ts"

/**
 * A connection attempt failed. `refused`: the broker answered and said no (credentials, vhost, an exchange of
 * another type), which retrying will not fix; `unreachable`: anything else (refused TCP connection, timeout,
 * DNS, a broker still starting), which a retry may fix.
 */
export class BrokerConnectError extends Schema.TaggedError<BrokerConnectError>()("BrokerConnectError", {
  kind: Schema.Literals(["refused", "unreachable"]),
  broker: Schema.String,
  message: Schema.String
}) {}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

// amqplib reports a broker that closes the connection during the handshake's open step (an unknown or forbidden
// vhost) only as "Expected ConnectionOpenOk; got <ConnectionClose …>", without the reply code.
const REFUSALS = /ACCESS[-_]REFUSED|NOT[-_]ALLOWED|PRECONDITION[-_]FAILED|got <ConnectionClose|SASL mechanism/
const refusedCodes: ReadonlySet<unknown> = new Set([403, 406, 530])

const classify = (error: unknown): BrokerConnectError["kind"] =>
  (typeof error === "object" && error !== null && refusedCodes.has((error as { code?: unknown }).code)) ||
  REFUSALS.test(messageOf(error))
    ? "refused"
    : "unreachable"

/** The URL amqplib dials: ours, plus a heartbeat unless the URL sets one. */
const dialUrl = (settings: RabbitMqPublisherSettings): string => {
  const url = new URL(Redacted.value(settings.url))
  if (!url.searchParams.has("heartbeat")) {
    url.searchParams.set("heartbeat", String(Math.max(1, Math.round(Duration.toSeconds(settings.heartbeat)))))
  }
  return url.toString()
}

const openChannel = async (
  settings: RabbitMqPublisherSettings
): Promise<{ connection: amqp.ChannelModel; channel: amqp.ConfirmChannel }> => {
  const connection = await amqp.connect(dialUrl(settings), {
    timeout: Duration.toMillis(settings.connectTimeout),
    keepAlive: true,
    clientProperties: { connection_name: settings.connectionName }
  })
  // Until the session takes over, a connection or channel error must not become an uncaught 'error' event.
  connection.on("error", () => {})
  try {
    const channel = await connection.createConfirmChannel()
    channel.on("error", () => {})
    await channel.assertExchange(settings.exchange, "topic", { durable: true })
    return { connection, channel }
  } catch (error) {
    await connection.close().catch(() => {})
    throw error
  }
}

/**
 * One AMQP connection with its one confirm channel, the exchange declared on it, and what the publisher must
 * know about them: whether they are still open, whether the broker blocked publishing, which messages it
 * returned as unroutable, and when the channel's write buffer drains.
 */
export class BrokerSession {
  #open = true
  #drainWaiters: Array<() => void> = []
  /** The broker's reason while it blocks publishing (a memory or disk alarm). */
  blockedReason: string | null = null
  /** The last error the connection or channel reported, for the reason of a failure. */
  lastError: string | null = null
  /** Ids of messages returned as unroutable whose confirm has not arrived yet, with how many of each. */
  readonly returned = new Map<string, number>()
  /** Completes with a description when the connection or the channel closes. */
  readonly ended = Deferred.makeUnsafe<string>()

  readonly connection: amqp.ChannelModel
  readonly channel: amqp.ConfirmChannel

  constructor(connection: amqp.ChannelModel, channel: amqp.ConfirmChannel) {
    this.connection = connection
    this.channel = channel
    connection.on("error", (error: Error) => {
      this.lastError = error.message
    })
    connection.on("close", (error?: Error) => {
      this.#end(error === undefined ? "the connection closed" : `the connection closed: ${error.message}`)
    })
    connection.on("blocked", (reason: string) => {
      this.blockedReason = reason
    })
    connection.on("unblocked", () => {
      this.blockedReason = null
    })
    channel.on("error", (error: Error) => {
      this.lastError = error.message
    })
    // Before amqplib's own listener fails the unconfirmed messages, so that a publisher woken by that failure
    // already sees the session ended.
    channel.prependListener("close", () => {
      this.#end(this.lastError === null ? "the channel closed" : `the channel closed: ${this.lastError}`)
      // A channel the broker closed leaves its connection open: close it, so the session is replaced whole.
      connection.close().catch(() => {})
    })
    channel.on("return", (message: amqp.Message) => {
      const id = message.properties.messageId
      if (typeof id === "string") this.returned.set(id, (this.returned.get(id) ?? 0) + 1)
    })
    channel.on("drain", () => this.#wakeDrainWaiters())
  }

  get isOpen(): boolean {
    return this.#open
  }

  /**
   * Calls `wake` once, at the channel's next `drain` or when the session ends. Register it right after `publish`
   * said false, in the same synchronous step, so that the `drain` cannot be missed.
   */
  onDrain(wake: () => void): void {
    if (this.#open) this.#drainWaiters.push(wake)
    else wake()
  }

  #wakeDrainWaiters(): void {
    const waiters = this.#drainWaiters
    this.#drainWaiters = []
    for (const wake of waiters) wake()
  }

  /** Whether the broker returned a message with this id; consumes one return. */
  takeReturned(messageId: string): boolean {
    const count = this.returned.get(messageId)
    if (count === undefined) return false
    if (count === 1) this.returned.delete(messageId)
    else this.returned.set(messageId, count - 1)
    return true
  }

  #end(why: string): void {
    if (!this.#open) return
    this.#open = false
    Deferred.doneUnsafe(this.ended, Exit.succeed(why))
    this.#wakeDrainWaiters()
  }

  /** Closes the channel, then the connection, within `timeout`; what cannot close in time is left to die. */
  close(timeout: Duration.Duration): Effect.Effect<void> {
    return Effect.tryPromise(async () => {
      await this.channel.close().catch(() => {})
      await this.connection.close()
    }).pipe(Effect.ignore, Effect.timeoutOption(timeout), Effect.asVoid)
  }

  /**
   * Connects, opens a confirm channel and declares the exchange (durable, topic). `adopt` receives the session in
   * the same step that opens it, so that an owner interrupted right after still finds it to close. An attempt
   * abandoned by interruption (a timeout, a shutdown) closes whatever it opens later.
   */
  static open(
    settings: RabbitMqPublisherSettings,
    adopt: (session: BrokerSession) => void
  ): Effect.Effect<BrokerSession, BrokerConnectError> {
    return Effect.callback<BrokerSession, BrokerConnectError>((resume) => {
      let abandoned = false
      openChannel(settings).then(
        ({ connection, channel }) => {
          if (abandoned) {
            connection.close().catch(() => {})
            return
          }
          const session = new BrokerSession(connection, channel)
          adopt(session)
          resume(Effect.succeed(session))
        },
        (error: unknown) =>
          resume(
            Effect.fail(
              new BrokerConnectError({ kind: classify(error), broker: settings.broker, message: messageOf(error) })
            )
          )
      )
      return Effect.sync(() => {
        abandoned = true
      })
    }).pipe(
      Effect.timeoutOrElse({
        duration: settings.connectTimeout,
        orElse: () =>
          Effect.fail(
            new BrokerConnectError({
              kind: "unreachable",
              broker: settings.broker,
              message: `no answer within ${Duration.format(settings.connectTimeout)}`
            })
          )
      })
    )
  }
}
