import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { afterAll, assert, it } from "@effect/vitest"
import { egvSeries } from "../fakes/dexcomRecords.ts"
import { startFakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { alignedFiveMinutes } from "../support/dexcom.ts"
import { connectDexcom, dexcomServiceEnv, isoSeconds, json, waitFor } from "../support/e2e.ts"
import { spawnService, startService } from "../support/processes.ts"
import { describeWithBroker, resolveTestBroker, startQueueConsumer, uniqueName } from "../support/rabbitmq.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-crash-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const DAY = 86_400_000

/** What the database file says, read while no service has it open. */
const database = () => {
  const db = new DatabaseSync(join(dataDir, "bg-ingest.db"), { readOnly: true })
  try {
    const connection = db.prepare("SELECT synced_through FROM connections WHERE user_id = 'crash-user'").get() as {
      synced_through: number | null
    }
    const { stored } = db.prepare("SELECT COUNT(*) AS stored FROM readings").get() as { stored: number }
    const { owed } = db.prepare("SELECT COUNT(*) AS owed FROM readings WHERE pending_event IS NOT NULL").get() as {
      owed: number
    }
    return { cursor: connection.synced_through, stored, owed }
  } finally {
    db.close()
  }
}

const availability = await resolveTestBroker()

describeWithBroker("a crash in the middle of a backfill (SQLite, RabbitMQ)", availability, (broker) => {
  it("SIGKILL once the first of three backfill windows is stored; after a restart: exactly Dexcom's readings, every event published", async () => {
    const fake = await startFakeDexcom()
    const exchange = uniqueName("bg.crash")
    const consumer = await startQueueConsumer(broker.url, exchange)
    try {
      // 89 days of records: a backfill of three windows of at most 30 days.
      const series = egvSeries({ start: alignedFiveMinutes(Date.now() - 89 * DAY), count: 89 * 288, nullEvery: 41 })
      fake.addUser("SandboxUser1", { records: series.records })
      const env = await dexcomServiceEnv(fake, {
        DATA_DIR: dataDir,
        DEMO_USERS: "",
        LOG_FORMAT: "json",
        RABBITMQ_URL: broker.url,
        RABBITMQ_EXCHANGE: exchange
      })

      const first = await spawnService(env)
      await first.ready()
      await connectDexcom(first.baseUrl, fake, "crash-user", "SandboxUser1")
      // The scheduler starts the backfill by itself; it is killed once the first window is stored and confirmed.
      await first.waitForOutput(/"window":"1\/3"/)
      assert.strictEqual(await first.stop("SIGKILL"), null)

      const killed = database()
      assert.isAbove(killed.stored, 0)
      assert.isNotNull(killed.cursor, "the first window's cursor was saved")
      assert.isBelow(killed.cursor!, series.expected.at(-1)!.epochSeconds * 1000, "the backfill was not finished")

      const second = await startService(env)
      try {
        // The dead process's lease on the connection has not run out: the user asks for a sync.
        const synced = await json(`${second.baseUrl}/api/bg/crash-user/connections/dexcom/sync`, { method: "POST" })
        assert.strictEqual(synced.status, 200, JSON.stringify(synced.body))
        const from = isoSeconds(series.expected[0]!.epochSeconds)
        const to = isoSeconds(series.expected.at(-1)!.epochSeconds + 1)
        const stored: Array<any> = (await json(`${second.baseUrl}/api/bg/crash-user?from=${from}&to=${to}&limit=50000`))
          .body
        assert.deepStrictEqual(
          stored.map((reading) => [reading.timestamp, reading.glucose_mg_dl]),
          series.expected.map((reading) => [isoSeconds(reading.epochSeconds), reading.glucoseMgDl])
        )

        // Every stored reading's event reaches the consumer: what the sync published and what the crash left owed
        // (the scheduler re-publishes it). Nothing is published that is not stored.
        const key = (userId: string, timestamp: string, value: number) => `${userId}|${timestamp}|${value}`
        const wanted = new Set(stored.map((reading) => key("crash-user", reading.timestamp, reading.glucose_mg_dl)))
        await waitFor(async () => {
          const delivered = new Set(
            consumer.received.map((event) =>
              key(event.body.user_id, event.body.reading.timestamp, event.body.reading.glucose_mg_dl)
            )
          )
          return [...wanted].every((wantedKey) => delivered.has(wantedKey)) ? true : undefined
        })
        for (const event of consumer.received) {
          assert.isTrue(
            wanted.has(key(event.body.user_id, event.body.reading.timestamp, event.body.reading.glucose_mg_dl)),
            `an event of a reading that is not stored: ${JSON.stringify(event.body)}`
          )
          assert.strictEqual(event.messageId, event.body.event_id)
          assert.isTrue(event.persistent)
        }
      } finally {
        assert.strictEqual(await second.stop(), 0, second.output())
      }
      assert.deepInclude(database(), { stored: series.expected.length, owed: 0 })
    } finally {
      await consumer.close()
      await fake.close()
    }
  }, 120_000)
})
