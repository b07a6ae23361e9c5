import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startFakeShare } from "../fakes/FakeShareServer.ts"
import { shareSeries } from "../fakes/shareRecords.ts"
import { backfilled, connectShare, isoSeconds, json, shareServiceEnv } from "../support/e2e.ts"
import { startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-share-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const USERNAME = "caregiver@example.org"
const PASSWORD = "Share-Pa55word-Never-Logged"

describe("the service with Dexcom Share configured (a real process, the fake Share on loopback)", () => {
  it("connects with credentials, polls by itself across a restart, and never logs the password or a session", async () => {
    const fake = await startFakeShare()
    try {
      const series = shareSeries({ start: Date.now() - 20 * 3_600_000, count: 230, nullEvery: 17 })
      fake.addAccount(USERNAME, { password: PASSWORD, records: series.records })
      const env = shareServiceEnv(fake, { DATA_DIR: dataDir, LOG_LEVEL: "Debug" })

      const first = await startService(env)
      const connected = await connectShare(first.baseUrl, "alice", USERNAME, PASSWORD)
      assert.strictEqual(connected.status, 201, JSON.stringify(connected.body))
      // The scheduler backfills the new connection by itself.
      await backfilled(first.baseUrl, "alice", "dexcom-share")
      const newest = series.expected.at(-1)!
      const latest = await json(`${first.baseUrl}/api/bg/alice/latest`)
      assert.deepStrictEqual(
        [latest.body.timestamp, latest.body.glucose_mg_dl, latest.body.source],
        [isoSeconds(newest.epochSeconds), newest.glucoseMgDl, "dexcom-share"]
      )
      const range = await json(
        `${first.baseUrl}/api/bg/alice?from=${isoSeconds(series.expected[0]!.epochSeconds)}&to=${isoSeconds(newest.epochSeconds + 1)}`
      )
      assert.deepStrictEqual(
        range.body.map((reading: any) => [reading.timestamp, reading.glucose_mg_dl]),
        series.expected.map((reading) => [isoSeconds(reading.epochSeconds), reading.glucoseMgDl])
      )
      assert.strictEqual(fake.loginAttempts(USERNAME), 2)
      const firstOutput = first.output()
      assert.strictEqual(await first.stop(), 0)

      // After a restart the session is gone from memory: one login opens a new one, and polling goes on.
      fake.addRecords(USERNAME, shareSeries({ start: Date.now() - 60_000, count: 1, value: () => 177 }).records)
      const second = await startService(env)
      const synced = await json(`${second.baseUrl}/api/bg/alice/connections/dexcom-share/sync`, { method: "POST" })
      assert.strictEqual(synced.status, 200, JSON.stringify(synced.body))
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
