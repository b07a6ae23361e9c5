import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, it } from "@effect/vitest"
import { startDynalite } from "../support/dynamodb.ts"
import { simulatorUserCheck, waitFor } from "../support/e2e.ts"
import { startService } from "../support/processes.ts"
import {
  type ConsumedEvent,
  describeWithBroker,
  resolveTestBroker,
  startQueueConsumer,
  uniqueName
} from "../support/rabbitmq.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-prod-adapters-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const availability = await resolveTestBroker()

describeWithBroker("the service on DynamoDB and RabbitMQ", availability, (broker) => {
  it("stores what the simulator produced in DynamoDB, serves it, and an independent consumer receives every reading", async () => {
    const dynamo = await startDynalite()
    const exchange = uniqueName("bg.e2e")
    // An independent consumer: its own queue, bound before the service starts ingesting.
    const consumer = await startQueueConsumer(broker.url, exchange)

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
        // Exactly what the simulator measured over the connection's span, read back from DynamoDB.
        const check = await simulatorUserCheck(service.baseUrl, userId)
        assert.deepStrictEqual(check.storedPairs, check.expectedPairs, userId)
        for (const reading of check.stored) stored.add(`${userId}|${reading.timestamp}`)
      }
      const keyOf = (event: ConsumedEvent) => `${event.body.user_id}|${event.body.reading.timestamp}`
      // Every stored reading's event arrives (the wait ends when they have, or fails the test).
      await waitFor(async () => {
        const delivered = new Set(consumer.received.map(keyOf))
        return [...stored].every((key) => delivered.has(key)) ? true : undefined
      })
      const delivered = new Set(consumer.received.map(keyOf))
      assert.deepStrictEqual([...delivered].sort(), [...stored].sort(), "events of exactly the stored readings")
      for (const event of consumer.received) {
        assert.strictEqual(event.messageId, event.body.event_id)
        assert.isTrue(event.persistent)
        assert.strictEqual(event.routingKey, "bg.reading.created")
      }
    } finally {
      assert.strictEqual(await service.stop(), 0)
      await consumer.close()
      await dynamo.stop()
    }
  })
})
