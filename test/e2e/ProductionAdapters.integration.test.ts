import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, it } from "@effect/vitest"
import * as amqp from "amqplib"
import { startDynalite } from "../support/dynamodb.ts"
import { startService } from "../support/processes.ts"
import { describeWithBroker, resolveTestBroker, uniqueName } from "../support/rabbitmq.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-prod-adapters-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const availability = await resolveTestBroker()

describeWithBroker("the service on DynamoDB and RabbitMQ", availability, (broker) => {
  it("stores what the simulator produced in DynamoDB, serves it, and an independent consumer receives every reading", async () => {
    const dynamo = await startDynalite()
    const exchange = uniqueName("bg.e2e")
    // An independent consumer: its own queue, bound before the service starts ingesting.
    const connection = await amqp.connect(broker.url)
    const channel = await connection.createChannel()
    await channel.assertExchange(exchange, "topic", { durable: true })
    const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true })
    await channel.bindQueue(queue, exchange, "bg.reading.*")
    const received: Array<amqp.ConsumeMessage> = []
    await channel.consume(queue, (message) => message && received.push(message), { noAck: true })

    const users = ["e2e-1", "e2e-2"]
    const service = await startService({
      DATA_DIR: dataDir,
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      DYNAMODB_TABLE: uniqueName("bg_e2e").replaceAll(".", "_"),
      RABBITMQ_URL: broker.url,
      RABBITMQ_EXCHANGE: exchange,
      DEMO_USERS: users.join(",")
    })
    try {
      const ready = (await (await fetch(`${service.baseUrl}/ready`)).json()) as { checks: unknown }
      assert.deepStrictEqual(ready.checks, { store: "ok", broker: "ok" })
      const stored = new Set<string>()
      for (const userId of users) {
        const readings = (await (await fetch(`${service.baseUrl}/api/bg/${userId}`)).json()) as Array<{
          timestamp: string
        }>
        assert.isAbove(readings.length, 250)
        for (const reading of readings) stored.add(`${userId}|${reading.timestamp}`)
      }
      const deadline = Date.now() + 15_000
      while (received.length < stored.size && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
      const delivered = new Set(
        received.map((message) => {
          const body = JSON.parse(message.content.toString()) as { user_id: string; reading: { timestamp: string } }
          assert.strictEqual(
            message.properties.messageId,
            (JSON.parse(message.content.toString()) as { event_id: string }).event_id
          )
          assert.strictEqual(message.properties.deliveryMode, 2)
          return `${body.user_id}|${body.reading.timestamp}`
        })
      )
      assert.deepStrictEqual(
        [...stored].filter((key) => !delivered.has(key)),
        [],
        "stored readings without an event"
      )
      assert.strictEqual(delivered.size, stored.size)
      assert.isTrue(received.every((message) => message.fields.routingKey === "bg.reading.created"))
    } finally {
      assert.strictEqual(await service.stop(), 0)
      await channel.deleteExchange(exchange)
      await connection.close()
      await dynamo.stop()
    }
  })
})
