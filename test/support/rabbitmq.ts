import { randomBytes } from "node:crypto"
import * as net from "node:net"
import { brokerAddress } from "@bg-ingest/adapters/rabbitmq"
import { afterAll } from "@effect/vitest"
import * as amqp from "amqplib"
import { Context, Effect, Layer } from "effect"
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from "testcontainers"
import { available, describeNeeding, unavailable } from "./needs.ts"

export interface TestBroker {
  /** The broker's AMQP URL (guest credentials). */
  readonly url: string
  readonly description: string
  readonly stop: () => Promise<void>
}

const DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672"

const reachable = async (url: string): Promise<string | null> => {
  try {
    const connection = await amqp.connect(url, { timeout: 3000 })
    await connection.close()
    return null
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
}

const startContainer = async (): Promise<TestBroker | undefined> => {
  try {
    await getContainerRuntimeClient()
  } catch {
    return undefined
  }
  const container: StartedTestContainer = await new GenericContainer("rabbitmq:3.13-alpine")
    .withExposedPorts(5672)
    .withWaitStrategy(Wait.forLogMessage(/Server startup complete/))
    .start()
  return {
    url: `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}`,
    description: "a RabbitMQ container (testcontainers)",
    stop: async () => {
      await container.stop()
    }
  }
}

export type BrokerAvailability =
  | { readonly available: true; readonly broker: TestBroker }
  | { readonly available: false; readonly problem: string }

/**
 * The broker for integration tests: a testcontainers RabbitMQ when a Docker engine answers, else the broker at
 * `RABBITMQ_URL` or amqp://guest:guest@127.0.0.1:5672.
 */
export const resolveTestBroker = async (): Promise<BrokerAvailability> => {
  const container = await startContainer()
  if (container !== undefined) return { available: true, broker: container }
  const url = process.env.RABBITMQ_URL ?? DEFAULT_URL
  const problem = await reachable(url)
  if (problem === null) {
    return {
      available: true,
      broker: { url, description: `the broker at ${brokerAddress(url)}`, stop: async () => {} }
    }
  }
  return {
    available: false,
    problem: `RabbitMQ is unreachable at ${brokerAddress(url)} (${problem}) and no Docker engine answers`
  }
}

/**
 * A `describe` block that runs against the broker, stopped afterwards. Without a broker it is skipped (tagged
 * `needs-rabbitmq`), except under `CI=true`, where it is one failing test instead: CI must not pass without RabbitMQ.
 */
export const describeWithBroker = (
  title: string,
  availability: BrokerAvailability,
  body: (broker: TestBroker) => void
): void => {
  if (availability.available) afterAll(() => availability.broker.stop())
  describeNeeding("rabbitmq", availability.available ? available : unavailable(availability.problem), title, () =>
    body(availability.available ? availability.broker : { url: "", description: "none", stop: async () => {} })
  )
}

/** A name no other test (or run) uses, for exchanges and queues. */
export const uniqueName = (prefix: string): string => `${prefix}.${process.pid}.${randomBytes(6).toString("hex")}`

export interface ReceivedMessage {
  readonly exchange: string
  readonly routingKey: string
  readonly properties: amqp.MessageProperties
  readonly content: Buffer
}

/** A consumer of its own queue, bound to the test exchange; connects to the broker directly, not via a proxy. */
export class TestConsumer extends Context.Service<
  TestConsumer,
  {
    readonly exchange: string
    readonly queue: string
    /** Every message received so far, in arrival order. */
    readonly received: Effect.Effect<ReadonlyArray<ReceivedMessage>>
    /**
     * The messages received once at least `count` have arrived (then a short settling pause, so that extra or
     * duplicate messages show) or `timeout` passed.
     */
    readonly awaitCount: (count: number, timeout?: number) => Effect.Effect<ReadonlyArray<ReceivedMessage>>
    readonly eventIds: Effect.Effect<ReadonlySet<string>>
    /** The ids of `expected` not received within `timeout` (none when all arrived). */
    readonly missingEventIds: (expected: Iterable<string>, timeout?: number) => Effect.Effect<ReadonlyArray<string>>
  }
>()("@bg-ingest/test/TestConsumer") {
  static readonly layer = (options: {
    readonly url: string
    readonly exchange: string
    readonly bindingKey?: string
    readonly queueArguments?: Record<string, unknown>
    /** False: bind the queue but leave its messages in it. */
    readonly consume?: boolean
  }): Layer.Layer<TestConsumer, unknown> =>
    Layer.effect(
      TestConsumer,
      Effect.gen(function* () {
        const queue = uniqueName("test.queue")
        const received: Array<ReceivedMessage> = []
        const eventIds = new Set<string>()
        const connection = yield* Effect.acquireRelease(
          Effect.tryPromise(() => amqp.connect(options.url)),
          (connection) => Effect.promise(() => connection.close().catch(() => {}))
        )
        connection.on("error", () => {})
        const channel = yield* Effect.tryPromise(() => connection.createChannel())
        channel.on("error", () => {})
        yield* Effect.tryPromise(async () => {
          await channel.assertExchange(options.exchange, "topic", { durable: true })
          await channel.assertQueue(queue, { durable: false, arguments: options.queueArguments ?? {} })
          await channel.bindQueue(queue, options.exchange, options.bindingKey ?? "bg.reading.*")
          if (options.consume === false) return
          await channel.consume(
            queue,
            (message) => {
              if (message === null) return
              received.push({
                exchange: message.fields.exchange,
                routingKey: message.fields.routingKey,
                properties: message.properties,
                content: message.content
              })
              if (typeof message.properties.messageId === "string") eventIds.add(message.properties.messageId)
            },
            { noAck: true }
          )
        })
        yield* Effect.addFinalizer(() =>
          Effect.promise(async () => {
            const cleanup = await amqp.connect(options.url)
            cleanup.on("error", () => {})
            const admin = await cleanup.createChannel()
            await admin.deleteQueue(queue).catch(() => {})
            await admin.deleteExchange(options.exchange).catch(() => {})
            await cleanup.close().catch(() => {})
          })
        )
        const awaitCount = (count: number, timeout = 20_000) =>
          Effect.gen(function* () {
            const deadline = performance.now() + timeout
            while (received.length < count && performance.now() < deadline) yield* Effect.sleep("20 millis")
            yield* Effect.sleep("150 millis")
            return received.slice()
          })
        const missingEventIds = (expected: Iterable<string>, timeout = 20_000) =>
          Effect.gen(function* () {
            const wanted = [...expected]
            const deadline = performance.now() + timeout
            let missing = wanted.filter((id) => !eventIds.has(id))
            while (missing.length > 0 && performance.now() < deadline) {
              yield* Effect.sleep("20 millis")
              missing = missing.filter((id) => !eventIds.has(id))
            }
            return missing
          })
        return TestConsumer.of({
          exchange: options.exchange,
          queue,
          received: Effect.sync(() => received.slice()),
          awaitCount,
          eventIds: Effect.sync(() => new Set(eventIds)),
          missingEventIds
        })
      })
    )
}

/**
 * A TCP proxy on loopback between the publisher and the broker, to take the network away: `cut` drops every
 * connection and refuses new ones until `restore`; `freeze` stops passing the broker's bytes to the client
 * (confirms never arrive) until `thaw`; `cutAfterBytes` cuts once that many more client bytes went through.
 */
export interface TcpProxy {
  readonly port: number
  /** `url` with its host and port replaced by the proxy's. */
  readonly urlFor: (url: string) => string
  readonly cut: Effect.Effect<void>
  readonly restore: Effect.Effect<void>
  readonly freeze: Effect.Effect<void>
  readonly thaw: Effect.Effect<void>
  readonly cutAfterBytes: (bytes: number) => Effect.Effect<void>
  /** Bytes passed from clients to the broker so far. */
  readonly bytesUp: Effect.Effect<number>
  readonly connections: Effect.Effect<number>
}

export const makeTcpProxy = (targetUrl: string) =>
  Effect.acquireRelease(
    Effect.promise(
      () =>
        new Promise<{ server: net.Server; proxy: TcpProxy; closeAll: () => void }>((resolve) => {
          const target = new URL(targetUrl)
          const targetPort = Number(target.port === "" ? 5672 : target.port)
          const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>()
          let down = false
          let frozen = false
          let bytesUp = 0
          let cutAt = Number.POSITIVE_INFINITY
          const closeAll = () => {
            for (const { client, upstream } of pairs) {
              client.destroy()
              upstream.destroy()
            }
            pairs.clear()
          }
          const server = net.createServer((client) => {
            if (down) {
              client.destroy()
              return
            }
            const upstream = net.connect(targetPort, target.hostname)
            const pair = { client, upstream }
            pairs.add(pair)
            if (frozen) upstream.pause()
            const drop = () => {
              client.destroy()
              upstream.destroy()
              pairs.delete(pair)
            }
            client.on("data", (chunk: Buffer) => {
              bytesUp += chunk.length
              upstream.write(chunk)
              if (bytesUp >= cutAt) {
                cutAt = Number.POSITIVE_INFINITY
                down = true
                closeAll()
              }
            })
            upstream.on("data", (chunk: Buffer) => client.write(chunk))
            client.on("error", drop)
            upstream.on("error", drop)
            client.on("close", drop)
            upstream.on("close", drop)
          })
          server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port
            resolve({
              server,
              closeAll,
              proxy: {
                port,
                urlFor: (url) => {
                  const parsed = new URL(url)
                  parsed.hostname = "127.0.0.1"
                  parsed.port = String(port)
                  return parsed.toString()
                },
                cut: Effect.sync(() => {
                  down = true
                  closeAll()
                }),
                restore: Effect.sync(() => {
                  down = false
                }),
                freeze: Effect.sync(() => {
                  frozen = true
                  for (const { upstream } of pairs) upstream.pause()
                }),
                thaw: Effect.sync(() => {
                  frozen = false
                  for (const { upstream } of pairs) upstream.resume()
                }),
                cutAfterBytes: (bytes) =>
                  Effect.sync(() => {
                    cutAt = bytesUp + bytes
                  }),
                bytesUp: Effect.sync(() => bytesUp),
                connections: Effect.sync(() => pairs.size)
              }
            })
          })
        })
    ),
    ({ server, closeAll }) =>
      Effect.promise(
        () =>
          new Promise<void>((resolve) => {
            closeAll()
            server.close(() => resolve())
          })
      )
  ).pipe(Effect.map(({ proxy }) => proxy))

/** An event as an independent consumer sees it. */
export interface ConsumedEvent {
  readonly messageId: unknown
  readonly routingKey: string
  readonly persistent: boolean
  readonly body: { readonly event_id: string; readonly user_id: string; readonly reading: any }
}

/**
 * An independent consumer for tests of real processes: its own exclusive queue, bound to `exchange` before the
 * service publishes, connected to the broker directly. `close` deletes the exchange.
 */
export const startQueueConsumer = async (url: string, exchange: string) => {
  const connection = await amqp.connect(url)
  connection.on("error", () => {})
  const channel = await connection.createChannel()
  await channel.assertExchange(exchange, "topic", { durable: true })
  const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true })
  await channel.bindQueue(queue, exchange, "bg.reading.*")
  const received: Array<ConsumedEvent> = []
  await channel.consume(
    queue,
    (message) => {
      if (message === null) return
      received.push({
        messageId: message.properties.messageId,
        routingKey: message.fields.routingKey,
        persistent: message.properties.deliveryMode === 2,
        body: JSON.parse(message.content.toString())
      })
    },
    { noAck: true }
  )
  return {
    received,
    close: async () => {
      await channel.deleteExchange(exchange).catch(() => {})
      await connection.close().catch(() => {})
    }
  }
}
