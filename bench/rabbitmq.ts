/**
 * Events per second through `RabbitMqEventPublisher.publish` (publisher confirms, mandatory routing), next to a
 * bare amqplib confirm channel publishing byte-identical messages with the same properties and batch sizes, in the
 * same run against the same broker. Target: adapter ≥ 0.8× bare.
 *
 *   node --conditions=@bg-ingest/source bench/rabbitmq.ts
 *
 * RABBITMQ_URL (default amqp://guest:guest@127.0.0.1:5672); BENCH_EVENTS (default 20000); BENCH_ROUNDS (9); BENCH_BATCHES
 * (default 100,1000,10000).
 * Also prints the client CPU time per event of each, which the broker's speed does not blur; its ratio is
 * bare / adapter, so below 1 means the adapter costs more CPU.
 * The queue is non-durable with a length cap, so the broker's disk does not dominate the figures.
 */
import { randomBytes } from "node:crypto"
import {
  brokerAddress,
  messagePropertiesOf,
  RabbitMqEventPublisher,
  ReadingEventBody,
  toReadingEventBody
} from "@bg-ingest/adapters/rabbitmq"
import {
  EventPublisher,
  formatInstant,
  makeReading,
  makeReadingEvent,
  ProviderId,
  type ReadingEvent,
  UserId
} from "@bg-ingest/domain"
import * as amqp from "amqplib"
import { Array as Arr, Context, DateTime, Effect, Exit, Layer, Logger, Redacted, Schema, Scope } from "effect"

const url = process.env.RABBITMQ_URL ?? "amqp://guest:guest@127.0.0.1:5672"
const totalEvents = Number(process.env.BENCH_EVENTS ?? 20_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 9)
const batchSizes = (process.env.BENCH_BATCHES ?? "100,1000,10000").split(",").map(Number)
const exchange = `bench.rabbitmq.${randomBytes(4).toString("hex")}`

const makeEvents = (count: number): ReadonlyArray<ReadingEvent> => {
  const start = Date.UTC(2026, 0, 1)
  const occurredAt = DateTime.makeUnsafe(Date.now())
  return Array.from({ length: count }, (_, index) =>
    makeReadingEvent(
      {
        kind: index % 10 === 0 ? "updated" : "created",
        reading: makeReading({
          userId: UserId.make(`bench-user-${index % 50}`),
          timestamp: DateTime.makeUnsafe(start + index * 300_000),
          glucoseMgDl: 70 + (index % 200),
          trend: "flat",
          trendRate: (index % 7) / 10,
          status: "ok",
          source: { provider: ProviderId.make("simulator"), recordId: `sim-${index}` },
          displayTime: null
        })
      },
      occurredAt
    )
  )
}

/** What a hand-written publisher would send: the same JSON, built without a schema. */
const bareBody = (event: ReadingEvent): Buffer => {
  const { reading } = event
  return Buffer.from(
    JSON.stringify({
      event_id: event.eventId,
      type: event.type,
      occurred_at: formatInstant(event.occurredAt),
      user_id: reading.userId,
      reading: {
        timestamp: formatInstant(reading.timestamp),
        glucose_mg_dl: reading.glucoseMgDl,
        trend: reading.trend,
        trend_rate: reading.trendRate,
        status: reading.status,
        display_time: reading.displayTime
      },
      source: { provider: reading.source.provider, record_id: reading.source.recordId }
    })
  )
}

const bare = async (channel: amqp.ConfirmChannel, batches: ReadonlyArray<ReadonlyArray<ReadingEvent>>) => {
  for (const batch of batches) {
    await new Promise<void>((resolve, reject) => {
      let outstanding = batch.length
      const confirmed = (error: unknown) => {
        if (error) reject(error)
        else if (--outstanding === 0) resolve()
      }
      let index = 0
      const write = () => {
        while (index < batch.length) {
          const event = batch[index++]!
          const options = { ...messagePropertiesOf(event), mandatory: true }
          if (!channel.publish(exchange, event.type, bareBody(event), options, confirmed)) {
            channel.once("drain", write)
            return
          }
        }
      }
      write()
    })
  }
}

const print = (line: string) => process.stdout.write(`${line}\n`)

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const main = async () => {
  let admin: amqp.ChannelModel
  try {
    admin = await amqp.connect(url, { timeout: 3000 })
  } catch (error) {
    print(`rabbitmq: skipped, no broker at ${brokerAddress(url)} (${String(error)})`)
    return
  }
  const adminChannel = await admin.createChannel()
  await adminChannel.assertExchange(exchange, "topic", { durable: true })
  const queue = await adminChannel.assertQueue("", { exclusive: true, arguments: { "x-max-length": 20_000 } })
  await adminChannel.bindQueue(queue.queue, exchange, "bg.reading.*")

  const bareConnection = await amqp.connect(url)
  const bareChannel = await bareConnection.createConfirmChannel()

  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      RabbitMqEventPublisher.layer({ url: Redacted.make(url), exchange }).pipe(Layer.provide(Logger.layer([]))),
      scope
    )
  )
  const publisher = Context.get(context, EventPublisher)

  const events = makeEvents(totalEvents)
  const encodeBody = Schema.encodeSync(Schema.fromJsonString(ReadingEventBody))
  const sample = events[1]!
  if (encodeBody(toReadingEventBody(sample)) !== bareBody(sample).toString("utf8")) {
    throw new Error("The bare baseline does not send the adapter's bytes; the comparison would be unfair")
  }

  const adapterRun = (batches: ReadonlyArray<ReadonlyArray<ReadingEvent>>) =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (const batch of batches) yield* publisher.publish(batch)
      })
    )
  /** Events per second (wall clock) and client CPU microseconds per event, for one run. */
  const measure = async (run: () => Promise<void>) => {
    const cpu = process.cpuUsage()
    const start = performance.now()
    await run()
    const seconds = (performance.now() - start) / 1000
    const used = process.cpuUsage(cpu)
    return { rate: totalEvents / seconds, cpuPerEvent: (used.user + used.system) / totalEvents }
  }

  print(
    `rabbitmq: publish with confirms, ${totalEvents} events per run, median of ${rounds} alternating rounds, broker ${brokerAddress(url)}`
  )
  print("batch   adapter ev/s   bare ev/s   ratio   | client CPU µs/event: adapter   bare   ratio")
  for (const size of batchSizes) {
    const batches = Arr.chunksOf(events, size)
    await adapterRun(batches)
    await bare(bareChannel, batches)
    const adapter: Array<{ rate: number; cpuPerEvent: number }> = []
    const baseline: Array<{ rate: number; cpuPerEvent: number }> = []
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so neither always meets a warmer (or busier) broker.
      if (round % 2 === 0) {
        adapter.push(await measure(() => adapterRun(batches)))
        baseline.push(await measure(() => bare(bareChannel, batches)))
      } else {
        baseline.push(await measure(() => bare(bareChannel, batches)))
        adapter.push(await measure(() => adapterRun(batches)))
      }
    }
    const rate = median(adapter.map((run) => run.rate))
    const bareRate = median(baseline.map((run) => run.rate))
    const cpu = median(adapter.map((run) => run.cpuPerEvent))
    const bareCpu = median(baseline.map((run) => run.cpuPerEvent))
    print(
      [
        String(size).padEnd(8),
        Math.round(rate).toString().padEnd(15),
        Math.round(bareRate).toString().padEnd(12),
        `${(rate / bareRate).toFixed(2)}x`.padEnd(8),
        "|",
        cpu.toFixed(1).padStart(30),
        bareCpu.toFixed(1).padStart(6),
        `${(bareCpu / cpu).toFixed(2)}x`.padStart(8)
      ].join("")
    )
  }

  await Effect.runPromise(Scope.close(scope, Exit.void))
  await bareConnection.close()
  await adminChannel.deleteExchange(exchange)
  await admin.close()
}

await main()
