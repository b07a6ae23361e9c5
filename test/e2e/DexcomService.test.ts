import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { egvSeries } from "../fakes/dexcomRecords.ts"
import { startFakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { alignedFiveMinutes } from "../support/dexcom.ts"
import { authorizeDexcom, backfilled, dexcomCallback, dexcomServiceEnv, isoSeconds, json } from "../support/e2e.ts"
import { runServiceToExit, startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-dexcom-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

describe("the service with Dexcom configured (a real process, the fake Dexcom on loopback)", () => {
  it("connects a user across a restart, backfills on its own, and never logs a token, code or state", async () => {
    const fake = await startFakeDexcom()
    try {
      const series = egvSeries({ start: alignedFiveMinutes(Date.now() - 2 * 86_400_000), count: 500, nullEvery: 17 })
      fake.addUser("SandboxUser1", { records: series.records })
      const env = await dexcomServiceEnv(fake, { DATA_DIR: dataDir, LOG_LEVEL: "Debug" })

      const first = await startService(env)
      const { consentUrl, state, cookie } = await authorizeDexcom(first.baseUrl, "alice")
      assert.isTrue(consentUrl.startsWith(`${fake.url}/v2/oauth2/login?`))
      const firstOutput = first.output()
      assert.strictEqual(await first.stop(), 0)

      // The user takes their time on Dexcom's page; meanwhile the service restarts. The state survives.
      const redirect = await fake.consent(consentUrl, { username: "SandboxUser1" })
      const second = await startService(env)
      const callback = await dexcomCallback(second.baseUrl, redirect, cookie)
      assert.strictEqual(callback.status, 200, JSON.stringify(callback.body))
      assert.strictEqual(callback.body.user_id, "alice")

      // The scheduler backfills the new connection by itself.
      const connection = await backfilled(second.baseUrl, "alice", "dexcom")
      assert.strictEqual(connection.status, "active")
      const newest = series.expected.at(-1)!
      const latest = await json(`${second.baseUrl}/api/bg/alice/latest`)
      assert.deepStrictEqual(
        [latest.body.timestamp, latest.body.glucose_mg_dl],
        [isoSeconds(newest.epochSeconds), newest.glucoseMgDl]
      )
      const range = await json(
        `${second.baseUrl}/api/bg/alice?from=${isoSeconds(series.expected[0]!.epochSeconds)}&to=${isoSeconds(newest.epochSeconds + 1)}`
      )
      assert.deepStrictEqual(
        range.body.map((reading: any) => [reading.timestamp, reading.glucose_mg_dl]),
        series.expected.map((reading) => [isoSeconds(reading.epochSeconds), reading.glucoseMgDl])
      )

      // Development generated the token key once, readable by its owner only.
      const keyFile = join(dataDir, "token-encryption.key")
      assert.isTrue(existsSync(keyFile))
      assert.strictEqual(statSync(keyFile).mode & 0o777, 0o600)
      const secondOutput = second.output()
      assert.strictEqual(await second.stop(), 0)

      const logs = firstOutput + secondOutput
      assert.include(logs, "TOKEN_ENCRYPTION_KEY is not set")
      for (const secret of [state, redirect.searchParams.get("code")!, ...fake.issuedSecrets()]) {
        assert.notInclude(logs, secret)
      }
    } finally {
      await fake.close()
    }
  })

  it("refuses a Dexcom base URL that is not Dexcom's outside development, naming the variable", () => {
    const { status, stderr } = runServiceToExit({
      APP_ENV: "production",
      DEXCOM_CLIENT_ID: "id",
      DEXCOM_CLIENT_SECRET: "do-not-print-this-secret",
      DEXCOM_REDIRECT_URI: "https://bg.example/api/connections/dexcom/callback",
      DEXCOM_API_BASE_URL: "https://dexcom.evil.example",
      TOKEN_ENCRYPTION_KEY: "too-short"
    })
    assert.strictEqual(status, 1, stderr)
    assert.include(stderr, "DEXCOM_API_BASE_URL must be one of https://sandbox-api.dexcom.com")
    assert.include(stderr, "TOKEN_ENCRYPTION_KEY must be 32 bytes")
    assert.notInclude(stderr, "do-not-print-this-secret")
    assert.notInclude(stderr, "too-short")
  })
})
