import { mkdtempSync, rmSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { json, simulatorUserCheck } from "../support/e2e.ts"
import { spawnService, startService } from "../support/processes.ts"
import { webhookHeaders } from "../support/webhook.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-shutdown-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const USERS = Array.from({ length: 80 }, (_, index) => `shutdown-${index}`)
const WEBHOOK_SECRET = "shutdown-webhook-secret-3c9e1a"

/** Resolves once nothing listens at `baseUrl` any more: the server has begun its shutdown. */
const stopsListening = async (baseUrl: string) => {
  while (
    await fetch(`${baseUrl}/health`).then(
      () => true,
      () => false
    )
  ) {
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * A POST whose headers go first (with `Expect: 100-continue`, so the server says when it has taken the request)
 * and whose body is sent only when the test says so: a delivery in flight at a chosen moment.
 */
const slowDelivery = (baseUrl: string, path: string, body: Buffer, headers: Record<string, string>) => {
  const outgoing = request(new URL(path, baseUrl), {
    method: "POST",
    headers: { ...headers, "content-length": String(body.length), expect: "100-continue" }
  })
  const accepted = new Promise<void>((resolve) => outgoing.once("continue", () => resolve()))
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    outgoing.once("error", reject)
    outgoing.once("response", (response) => {
      let text = ""
      response.on("data", (chunk) => {
        text += chunk
      })
      response.once("end", () => resolve({ status: response.statusCode ?? 0, body: text }))
    })
  })
  outgoing.flushHeaders()
  return {
    accepted,
    answer,
    sendHalf: () => outgoing.write(body.subarray(0, body.length >> 1)),
    sendRest: () => outgoing.end(body.subarray(body.length >> 1))
  }
}

describe("shutdown", () => {
  it("SIGTERM in the middle of syncing exits 0, and the next start has lost and doubled nothing", async () => {
    const env = { DATA_DIR: join(dataDir, "syncing"), DEMO_USERS: USERS.join(","), SHUTDOWN_TIMEOUT_SECONDS: "10" }
    const first = await spawnService(env)
    // Part-way through syncing the users: some are done, the rest are not.
    await first.waitForOutput("Demo user shutdown-30:")
    // Within SHUTDOWN_TIMEOUT_SECONDS, or the service itself exits 1.
    assert.strictEqual(await first.stop(), 0, first.output())

    const service = await startService(env, 60_000)
    try {
      for (const userId of [USERS[0]!, USERS[30]!, USERS[31]!, USERS[79]!]) {
        // Exactly what the sensor measured since the connection began: no gap, no duplicate.
        const check = await simulatorUserCheck(service.baseUrl, userId)
        assert.deepStrictEqual(check.storedPairs, check.expectedPairs, userId)
      }
    } finally {
      assert.strictEqual(await service.stop(), 0)
    }
  })

  it("SIGTERM with a webhook delivery in flight: the delivery is answered 202 and stored, and the exit is 0", async () => {
    const env = { DATA_DIR: join(dataDir, "webhook"), DEMO_USERS: "", WEBHOOK_SECRET }
    const first = await startService(env)
    const readings = Array.from({ length: 2000 }, (_, index) => ({
      timestamp: new Date(Date.UTC(2026, 0, 1) + index * 300_000).toISOString().replace(".000Z", "Z"),
      glucose_mg_dl: 70 + (index % 200),
      record_id: `in-flight-${index}`
    }))
    const body = Buffer.from(JSON.stringify({ readings }))
    const path = "/api/bg/in-flight/webhook"
    const delivery = slowDelivery(first.baseUrl, path, body, webhookHeaders(path, body, { secret: WEBHOOK_SECRET }))
    await delivery.accepted
    delivery.sendHalf()
    const exited = first.stop()
    await stopsListening(first.baseUrl)
    delivery.sendRest()
    const answer = await delivery.answer
    assert.strictEqual(answer.status, 202, answer.body)
    assert.deepStrictEqual(JSON.parse(answer.body), { received: 2000, inserted: 2000, updated: 0, unchanged: 0 })
    assert.strictEqual(await exited, 0, first.output())

    const second = await startService(env)
    try {
      const stored: Array<{ timestamp: string }> = (
        await json(`${second.baseUrl}/api/bg/in-flight?from=2026-01-01T00:00:00Z&to=2026-01-08T00:00:00Z&limit=5000`)
      ).body
      assert.deepStrictEqual(
        stored.map((reading) => reading.timestamp),
        readings.map((reading) => reading.timestamp)
      )
    } finally {
      assert.strictEqual(await second.stop(), 0)
    }
  })
})
