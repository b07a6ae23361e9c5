import { brokerAddress, rabbitMqPublisherConfig, resolveSettings } from "@bg-ingest/adapters/rabbitmq"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Redacted } from "effect"

const read = (env: Record<string, string>) =>
  Effect.gen(function* () {
    return yield* rabbitMqPublisherConfig
  }).pipe(Effect.provide(ConfigProvider.layer(ConfigProvider.fromUnknown(env))))

describe("RabbitMQ publisher settings", () => {
  it.effect("reads RABBITMQ_URL as a secret, with the documented defaults for the rest", () =>
    Effect.gen(function* () {
      const options = yield* read({ RABBITMQ_URL: "amqp://bg:s3cret@rabbit.internal:5672/prod" })
      assert.isTrue(Redacted.isRedacted(options.url))
      assert.strictEqual(Redacted.value(options.url), "amqp://bg:s3cret@rabbit.internal:5672/prod")
      assert.notInclude(String(options.url), "s3cret")
      assert.strictEqual(options.exchange, "bg.readings")
      assert.strictEqual(options.unroutable, "fail")
      assert.isTrue(Duration.equals(Duration.fromInputUnsafe(options.confirmTimeout!), Duration.seconds(30)))
    })
  )

  it.effect("reads the exchange, the unroutable policy and the confirm timeout", () =>
    Effect.gen(function* () {
      const options = yield* read({
        RABBITMQ_URL: "amqps://rabbit.internal",
        RABBITMQ_EXCHANGE: "glucose.events",
        RABBITMQ_UNROUTABLE: "drop",
        RABBITMQ_CONFIRM_TIMEOUT_SECONDS: "7.5"
      })
      assert.strictEqual(options.exchange, "glucose.events")
      assert.strictEqual(options.unroutable, "drop")
      assert.strictEqual(Duration.toMillis(Duration.fromInputUnsafe(options.confirmTimeout!)), 7500)
    })
  )

  it.effect.each([
    ["a URL of another scheme", { RABBITMQ_URL: "http://bg:s3cret@rabbit.internal" }],
    ["a missing URL", {}],
    ["a reserved exchange name", { RABBITMQ_URL: "amqp://h", RABBITMQ_EXCHANGE: "amq.topic" }],
    ["an exchange name with spaces", { RABBITMQ_URL: "amqp://h", RABBITMQ_EXCHANGE: "bg readings" }],
    ["an unknown policy", { RABBITMQ_URL: "amqp://h", RABBITMQ_UNROUTABLE: "maybe" }],
    ["a zero confirm timeout", { RABBITMQ_URL: "amqp://h", RABBITMQ_CONFIRM_TIMEOUT_SECONDS: "0" }]
  ] as const)("rejects %s, without printing the URL", ([, env]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(read(env))
      assert.strictEqual(error._tag, "ConfigError")
      assert.notInclude(String(error), "s3cret")
    })
  )

  it("logs only host:port of a URL, with the protocol's default port", () => {
    assert.strictEqual(brokerAddress("amqp://bg:s3cret@rabbit.internal/prod"), "rabbit.internal:5672")
    assert.strictEqual(brokerAddress("amqps://bg:s3cret@rabbit.internal"), "rabbit.internal:5671")
    assert.strictEqual(brokerAddress("amqp://bg:s3cret@10.0.0.7:5673/"), "10.0.0.7:5673")
  })

  it("fills every option it is not given", () => {
    const settings = resolveSettings({ url: Redacted.make("amqp://h") }, "amqp://h")
    assert.deepStrictEqual(
      {
        broker: settings.broker,
        exchange: settings.exchange,
        unroutable: settings.unroutable,
        confirmTimeout: Duration.toMillis(settings.confirmTimeout),
        connectTimeout: Duration.toMillis(settings.connectTimeout),
        pingTimeout: Duration.toMillis(settings.pingTimeout),
        shutdownTimeout: Duration.toMillis(settings.shutdownTimeout),
        heartbeat: Duration.toMillis(settings.heartbeat),
        reconnectInitialDelay: Duration.toMillis(settings.reconnectInitialDelay),
        reconnectMaxDelay: Duration.toMillis(settings.reconnectMaxDelay)
      },
      {
        broker: "h:5672",
        exchange: "bg.readings",
        unroutable: "fail",
        confirmTimeout: 30_000,
        connectTimeout: 10_000,
        pingTimeout: 5_000,
        shutdownTimeout: 10_000,
        heartbeat: 30_000,
        reconnectInitialDelay: 500,
        reconnectMaxDelay: 30_000
      }
    )
  })
})
