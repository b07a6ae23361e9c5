import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { egvSeries } from "../fakes/dexcomRecords.ts"
import { startFakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { alignedFiveMinutes } from "../support/dexcom.ts"
import { freePort, startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-dexcom-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

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

describe("the service with Dexcom configured (a real process, the fake Dexcom on loopback)", () => {
  it("connects a user across a restart, backfills on its own, and never logs a token, code or state", async () => {
    const fake = await startFakeDexcom()
    try {
      const now = Date.now()
      const series = egvSeries({ start: alignedFiveMinutes(now - 2 * 86_400_000), count: 500, nullEvery: 17 })
      fake.addUser("SandboxUser1", { records: series.records })
      const port = String(await freePort())
      const env = {
        DATA_DIR: dataDir,
        PORT: port,
        LOG_LEVEL: "Debug",
        DEXCOM_CLIENT_ID: fake.clientId,
        DEXCOM_CLIENT_SECRET: fake.clientSecret,
        DEXCOM_REDIRECT_URI: `http://127.0.0.1:${port}/api/connections/dexcom/callback`,
        DEXCOM_API_BASE_URL: fake.url,
        SCHEDULER_TICK_SECONDS: "1"
      }

      const first = await startService(env)
      const authorize = await fetch(`${first.baseUrl}/api/connections/dexcom/authorize?user_id=alice`, {
        redirect: "manual"
      })
      assert.strictEqual(authorize.status, 302)
      // The browser keeps the flow's cookie and brings it back to the callback.
      const cookie = authorize.headers.get("set-cookie")!.split(";")[0]!
      const consentUrl = authorize.headers.get("location")!
      assert.isTrue(consentUrl.startsWith(`${fake.url}/v2/oauth2/login?`))
      const state = new URL(consentUrl).searchParams.get("state")!
      const firstOutput = first.output()
      assert.strictEqual(await first.stop(), 0)

      // The user takes their time on Dexcom's page; meanwhile the service restarts. The state survives.
      const redirect = await fake.consent(consentUrl, { username: "SandboxUser1" })
      const second = await startService(env)
      const callback = await json(`${second.baseUrl}/api/connections/dexcom/callback${redirect.search}`, {
        headers: { cookie }
      })
      assert.strictEqual(callback.status, 200, JSON.stringify(callback.body))
      assert.strictEqual(callback.body.user_id, "alice")

      // The scheduler backfills the new connection by itself.
      const connection = await waitFor(async () => {
        const list = await json(`${second.baseUrl}/api/bg/alice/connections`)
        return list.body[0]?.backfill_complete === true ? list.body[0] : undefined
      })
      assert.strictEqual(connection.status, "active")
      const newest = series.expected.at(-1)!
      const latest = await json(`${second.baseUrl}/api/bg/alice/latest`)
      assert.deepStrictEqual(
        [latest.body.timestamp, latest.body.glucose_mg_dl],
        [new Date(newest.epochSeconds * 1000).toISOString().replace(".000Z", "Z"), newest.glucoseMgDl]
      )
      const range = await json(`${second.baseUrl}/api/bg/alice?from=${new Date(now - 3 * 86_400_000).toISOString()}`)
      assert.strictEqual(range.body.length, series.expected.length)

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

  it("refuses a Dexcom base URL that is not Dexcom's outside development, naming the variable", async () => {
    const { execFileSync } = await import("node:child_process")
    try {
      execFileSync(process.execPath, ["--conditions=@bg-ingest/source", "packages/runner/bin/bg-ingest.mjs"], {
        cwd: new URL("../../", import.meta.url).pathname,
        env: {
          PATH: process.env.PATH ?? "",
          APP_ENV: "production",
          DEXCOM_CLIENT_ID: "id",
          DEXCOM_CLIENT_SECRET: "do-not-print-this-secret",
          DEXCOM_REDIRECT_URI: "https://bg.example/api/connections/dexcom/callback",
          DEXCOM_API_BASE_URL: "https://dexcom.evil.example",
          TOKEN_ENCRYPTION_KEY: "too-short"
        },
        stdio: "pipe"
      })
      assert.fail("started with a foreign Dexcom host")
    } catch (error) {
      const failure = error as { status: number; stderr: Buffer }
      assert.strictEqual(failure.status, 1)
      const message = failure.stderr.toString()
      assert.include(message, "DEXCOM_API_BASE_URL must be one of https://sandbox-api.dexcom.com")
      assert.include(message, "TOKEN_ENCRYPTION_KEY must be 32 bytes")
      assert.notInclude(message, "do-not-print-this-secret")
      assert.notInclude(message, "too-short")
    }
  })
})
