import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startFakeLibreLinkUp } from "../fakes/FakeLibreLinkUpServer.ts"
import { libreSensor } from "../fakes/libreRecords.ts"
import { expectedAfterPolls } from "../support/libreExpected.ts"
import { freePort, startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-libre-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const FOLLOWER = "parent@example.org"
const PASSWORD = "Libre-Pa55word-Never-Logged"
const ZONE = "America/Chicago"

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

const iso = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z")

describe("the service with LibreLinkUp configured (a real process, the fake LibreLinkUp on loopback)", () => {
  it("connects a chosen patient, polls by itself, survives a restart without a login, and never logs a secret", async () => {
    // The fake's clock stands still, so that which readings exist does not depend on how long the test takes.
    const frozen = Math.floor(Date.now() / 1000) * 1000 - 60_000
    const fake = await startFakeLibreLinkUp({ now: () => frozen })
    try {
      const sensor = libreSensor({ start: frozen - 11 * 3_600_000 - 30_000, count: 660, nullEvery: 9 })
      fake.addAccount(FOLLOWER, {
        password: PASSWORD,
        region: "eu2",
        patients: [
          {
            firstName: "Zephyrine",
            lastName: "Sibling",
            zone: "Europe/London",
            sensor: libreSensor({ start: frozen - 3_600_000, count: 50 })
          },
          { firstName: "Quillon", lastName: "Child", zone: ZONE, unit: "mmol/L", sensor }
        ]
      })
      const patientId = fake.patientIds(FOLLOWER)[1]!
      const env = {
        DATA_DIR: dataDir,
        PORT: String(await freePort()),
        LOG_LEVEL: "Debug",
        PROVIDERS: "libre-link-up",
        LIBRE_LINK_UP_BASE_URL: fake.url,
        SCHEDULER_TICK_SECONDS: "1"
      }
      const connection = "/api/bg/alice/connections/libre-link-up"
      const put = (baseUrl: string, body: unknown) =>
        json(`${baseUrl}${connection}`, {
          method: "PUT",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body)
        })

      const first = await startService(env)
      const choose = await put(first.baseUrl, { username: FOLLOWER, password: PASSWORD })
      assert.strictEqual(choose.status, 400)
      assert.strictEqual(choose.body.type, "urn:bg-ingest:problem:patient-choice-required")
      const connected = await put(first.baseUrl, { username: FOLLOWER, password: PASSWORD, patient_id: patientId })
      assert.strictEqual(connected.status, 201, JSON.stringify(connected.body))
      await waitFor(async () => {
        const list = await json(`${first.baseUrl}/api/bg/alice/connections`)
        return list.body[0]?.backfill_complete === true ? list.body[0] : undefined
      })
      const expected = expectedAfterPolls(sensor, ZONE, [frozen])
      const latest = await json(`${first.baseUrl}/api/bg/alice/latest`)
      const newest = expected.at(-1)!
      assert.deepStrictEqual(
        [latest.body.timestamp, latest.body.glucose_mg_dl, latest.body.trend, latest.body.source],
        [iso(newest.epochSeconds), newest.glucoseMgDl, newest.trend, "libre-link-up"]
      )
      const range = await json(`${first.baseUrl}/api/bg/alice?from=${iso(expected[0]!.epochSeconds)}`)
      assert.deepStrictEqual(
        range.body.map((reading: { timestamp: string; glucose_mg_dl: number }) => [
          reading.timestamp,
          reading.glucose_mg_dl
        ]),
        expected.map((reading) => [iso(reading.epochSeconds), reading.glucoseMgDl])
      )
      // Two connects: the first redirected to eu2, the second went straight there.
      assert.strictEqual(fake.loginAttempts(FOLLOWER), 3)
      const firstOutput = first.output()
      assert.strictEqual(await first.stop(), 0)

      // After a restart the ticket stored (sealed) with the credentials serves the next read: no login.
      const second = await startService(env)
      const synced = await json(`${second.baseUrl}${connection}/sync`, { method: "POST" })
      assert.strictEqual(synced.status, 200, JSON.stringify(synced.body))
      assert.deepInclude(synced.body, { inserted: 0, updated: 0 })
      assert.strictEqual(fake.loginAttempts(FOLLOWER), 3)
      const secondOutput = second.output()
      assert.strictEqual(await second.stop(), 0)

      const logs = firstOutput + secondOutput
      assert.include(logs, "libre-link-up")
      for (const secret of [PASSWORD, FOLLOWER, "Quillon", "Zephyrine", ...fake.issuedTokens()]) {
        assert.notInclude(logs, secret)
      }
    } finally {
      await fake.close()
    }
  })
})
