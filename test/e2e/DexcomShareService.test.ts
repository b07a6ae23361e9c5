import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startFakeShare } from "../fakes/FakeShareServer.ts"
import { shareSeries } from "../fakes/shareRecords.ts"
import { freePort, startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-share-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const USERNAME = "caregiver@example.org"
const PASSWORD = "Share-Pa55word-Never-Logged"

const json = async (url: string, init?: RequestInit) => {
  const response = await fetch(url, init)
  return { status: response.status, body: (await response.json()) as any }
}

const waitFor = async <A>(probe: () => Promise<A | undefined>, timeoutMs = 20_000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  throw new Error("timed out")
}

describe("the service with Dexcom Share configured (a real process, the fake Share on loopback)", () => {
  it("connects with credentials, polls by itself across a restart, and never logs the password or a session", async () => {
    const fake = await startFakeShare()
    try {
      const now = Date.now()
      const series = shareSeries({ start: now - 20 * 3_600_000, count: 230, nullEvery: 17 })
      fake.addAccount(USERNAME, { password: PASSWORD, records: series.records })
      const env = {
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
        LOG_LEVEL: "Debug",
        PROVIDERS: "dexcom-share",
        DEXCOM_SHARE_REGION: "us",
        DEXCOM_SHARE_BASE_URL: fake.url,
        SCHEDULER_TICK_SECONDS: "1"
      }

      const first = await startService(env)
      const connected = await json(`${first.baseUrl}/api/bg/alice/connections/dexcom-share`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ username: USERNAME, password: PASSWORD })
      })
      assert.strictEqual(connected.status, 201, JSON.stringify(connected.body))
      // The scheduler backfills the new connection by itself.
      await waitFor(async () => {
        const list = await json(`${first.baseUrl}/api/bg/alice/connections`)
        return list.body[0]?.backfill_complete === true ? list.body[0] : undefined
      })
      const newest = series.expected.at(-1)!
      const latest = await json(`${first.baseUrl}/api/bg/alice/latest`)
      assert.deepStrictEqual(
        [latest.body.timestamp, latest.body.glucose_mg_dl, latest.body.source],
        [new Date(newest.epochSeconds * 1000).toISOString().replace(".000Z", "Z"), newest.glucoseMgDl, "dexcom-share"]
      )
      const range = await json(`${first.baseUrl}/api/bg/alice?from=${new Date(now - 86_400_000).toISOString()}`)
      assert.strictEqual(range.body.length, series.expected.length)
      assert.strictEqual(fake.loginAttempts(USERNAME), 2)
      const firstOutput = first.output()
      assert.strictEqual(await first.stop(), 0)

      // After a restart the session is gone from memory: one login opens a new one, and polling goes on.
      fake.addRecords(USERNAME, shareSeries({ start: Date.now() - 60_000, count: 1, value: () => 177 }).records)
      const second = await startService(env)
      await json(`${second.baseUrl}/api/bg/alice/connections/dexcom-share/sync`, { method: "POST" })
      const after = await json(`${second.baseUrl}/api/bg/alice/latest`)
      assert.strictEqual(after.body.glucose_mg_dl, 177)
      assert.strictEqual(fake.loginAttempts(USERNAME), 4)
      const secondOutput = second.output()
      assert.strictEqual(await second.stop(), 0)

      const logs = firstOutput + secondOutput
      assert.include(logs, "dexcom-share")
      for (const secret of [PASSWORD, USERNAME, ...fake.issuedSessions()]) assert.notInclude(logs, secret)
    } finally {
      await fake.close()
    }
  })
})
