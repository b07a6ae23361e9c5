import { Config, Duration, Redacted, Result, Schema } from "effect"
import * as Environment from "../environment/index.ts"

/** `amqp://user:password@host:port/vhost?heartbeat=…` or `amqps://…`. Never logged: it carries credentials. */
export const AmqpUrl = Schema.String.check(
  Schema.isPattern(/^amqps?:\/\/[^\s/?#]+(?:[/?#]\S*)?$/, { expected: "an amqp:// or amqps:// URL with a host" })
)

/** AMQP exchange names: up to 255 of `A-Z a-z 0-9 - _ . :`; `amq.` is reserved to the broker. */
export const ExchangeName = Schema.String.check(
  Schema.isPattern(/^(?!amq\.)[A-Za-z0-9._:-]{1,255}$/, {
    expected: "an exchange name of 1–255 characters of A-Z a-z 0-9 - _ . : not starting with amq."
  })
)

/**
 * What a message that reaches no queue means. `fail` (the default): it is published `mandatory`, the broker
 * returns it, and the publish fails with reason `unroutable`, so the events stay in the store's outbox until a
 * queue is bound. `drop`: published without `mandatory`; the broker drops it and confirms.
 */
export const UnroutablePolicy = Schema.Literals(["fail", "drop"])
export type UnroutablePolicy = typeof UnroutablePolicy.Type

export interface RabbitMqPublisherOptions {
  /** `RABBITMQ_URL`. */
  readonly url: Redacted.Redacted<string>
  /** `RABBITMQ_EXCHANGE`: the durable topic exchange, declared at each connection. Default `bg.readings`. */
  readonly exchange?: string | undefined
  /** `RABBITMQ_UNROUTABLE`. Default `fail`. */
  readonly unroutable?: UnroutablePolicy | undefined
  /**
   * `RABBITMQ_CONFIRM_TIMEOUT_SECONDS`: the longest a publish waits without progress (a confirm, or room in
   * the socket buffer) before it fails with reason `timeout`. Default 30 seconds.
   */
  readonly confirmTimeout?: Duration.Input | undefined
  /** The longest one connection attempt (TCP, TLS, AMQP handshake, channel, exchange) may take. Default 10 s. */
  readonly connectTimeout?: Duration.Input | undefined
  /** The longest `ping`'s round trip to the broker may take. Default 5 s. */
  readonly pingTimeout?: Duration.Input | undefined
  /** On release, how long to wait for publishes in progress to be confirmed before closing. Default 10 s. */
  readonly shutdownTimeout?: Duration.Input | undefined
  /**
   * AMQP heartbeat, which detects a dead peer on a silent network. Default 30 s. A `heartbeat` query
   * parameter in the URL wins.
   */
  readonly heartbeat?: Duration.Input | undefined
  /** Reconnection delays: exponential from `initialDelay`, capped at `maxDelay`, with jitter. 0.5 s and 30 s. */
  readonly reconnect?:
    | { readonly initialDelay?: Duration.Input | undefined; readonly maxDelay?: Duration.Input | undefined }
    | undefined
  /** Shown by the broker's management UI for this connection. Default `bg-ingest publisher`. */
  readonly connectionName?: string | undefined
}

export interface RabbitMqPublisherSettings {
  readonly url: Redacted.Redacted<string>
  /** `host:port`, the only part of the URL that is ever logged. */
  readonly broker: string
  readonly exchange: string
  readonly unroutable: UnroutablePolicy
  readonly confirmTimeout: Duration.Duration
  readonly connectTimeout: Duration.Duration
  readonly pingTimeout: Duration.Duration
  readonly shutdownTimeout: Duration.Duration
  readonly heartbeat: Duration.Duration
  readonly reconnectInitialDelay: Duration.Duration
  readonly reconnectMaxDelay: Duration.Duration
  readonly connectionName: string
}

export const DEFAULT_RABBITMQ_EXCHANGE = "bg.readings"

/** `host:port` of an AMQP URL, with the protocol's default port; for logs and error messages. */
export const brokerAddress = (url: string): string => {
  const parsed = URL.parse(url)
  if (parsed === null) return "an unparseable URL"
  const port = parsed.port === "" ? (parsed.protocol === "amqps:" ? "5671" : "5672") : parsed.port
  return `${parsed.hostname}:${port}`
}

export const resolveSettings = (options: RabbitMqPublisherOptions, url: string): RabbitMqPublisherSettings => ({
  url: options.url,
  broker: brokerAddress(url),
  exchange: options.exchange ?? DEFAULT_RABBITMQ_EXCHANGE,
  unroutable: options.unroutable ?? "fail",
  confirmTimeout: Duration.fromInputUnsafe(options.confirmTimeout ?? Duration.seconds(30)),
  connectTimeout: Duration.fromInputUnsafe(options.connectTimeout ?? Duration.seconds(10)),
  pingTimeout: Duration.fromInputUnsafe(options.pingTimeout ?? Duration.seconds(5)),
  shutdownTimeout: Duration.fromInputUnsafe(options.shutdownTimeout ?? Duration.seconds(10)),
  heartbeat: Duration.fromInputUnsafe(options.heartbeat ?? Duration.seconds(30)),
  reconnectInitialDelay: Duration.fromInputUnsafe(options.reconnect?.initialDelay ?? Duration.millis(500)),
  reconnectMaxDelay: Duration.fromInputUnsafe(options.reconnect?.maxDelay ?? Duration.seconds(30)),
  connectionName: options.connectionName ?? "bg-ingest publisher"
})

/** `RABBITMQ_URL`: an AMQP URL with a host, kept `Redacted` (it carries credentials) and never echoed. */
const urlFormat: Environment.Format<Redacted.Redacted<string>> = {
  decode: (text) =>
    Result.isSuccess(Environment.url(["amqp", "amqps"]).decode(text)) && Schema.is(AmqpUrl)(text)
      ? Result.succeed(Redacted.make(text))
      : Result.fail("must be a URL starting with amqp:// or amqps://")
}

/** Strict: a broker off this machine only over TLS (`amqps://`): its URL carries credentials, its messages readings. */
const urlFormatFor = (strictness: Environment.Strictness): Environment.Format<Redacted.Redacted<string>> =>
  strictness._tag === "Development"
    ? urlFormat
    : Environment.refine(urlFormat, (url) => {
        const parsed = URL.parse(Redacted.value(url))
        return parsed?.protocol === "amqp:" && !Environment.isLoopbackHost(parsed.hostname)
          ? `must be amqps:// (TLS) for a broker that is not on this machine ${strictness.because}`
          : undefined
      })

/**
 * The publisher's part of the environment: `RABBITMQ_URL` (required; strict, `amqps://` unless the broker is on
 * this machine), `RABBITMQ_EXCHANGE` (`bg.readings`), `RABBITMQ_UNROUTABLE` (`fail`) and
 * `RABBITMQ_CONFIRM_TIMEOUT_SECONDS` (30, from 1 to 600: a publish stalled longer is better failed, its events
 * staying in the outbox, than waited for).
 */
export const rabbitMqPublisherConfigFor = (options: {
  readonly strictness: Environment.Strictness
}): Config.Config<RabbitMqPublisherOptions> =>
  Environment.all({
    url: Environment.required("RABBITMQ_URL", urlFormatFor(options.strictness)),
    exchange: Environment.withDefault(
      "RABBITMQ_EXCHANGE",
      Environment.format(ExchangeName, "must be 1–255 characters of A-Z a-z 0-9 - _ . : and must not start with amq."),
      DEFAULT_RABBITMQ_EXCHANGE
    ),
    unroutable: Environment.withDefault("RABBITMQ_UNROUTABLE", Environment.literal(UnroutablePolicy.literals), "fail"),
    confirmTimeout: Environment.withDefault(
      "RABBITMQ_CONFIRM_TIMEOUT_SECONDS",
      Environment.format(
        Schema.FiniteFromString.check(Schema.isBetween({ minimum: 1, maximum: 600 })),
        "must be a number of seconds from 1 to 600"
      ),
      30
    ).pipe(Config.map((seconds) => Duration.seconds(seconds)))
  })

/** The publisher's part of the environment as development reads it (any reachable broker). */
export const rabbitMqPublisherConfig: Config.Config<RabbitMqPublisherOptions> = rabbitMqPublisherConfigFor({
  strictness: Environment.Strictness.development
})
