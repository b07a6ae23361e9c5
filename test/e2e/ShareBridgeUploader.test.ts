import { type ChildProcess, spawn } from "node:child_process"
import { createHash } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startFakeShare } from "../fakes/FakeShareServer.ts"
import { shareSeries } from "../fakes/shareRecords.ts"
import { freePort, startService } from "../support/processes.ts"
import { selfSignedCertificate, startTlsFront } from "../support/tls.ts"

// share2nightscout-bridge 0.2.12, unmodified, from npm: the uploader thousands of Dexcom users have run. It reads
// Dexcom Share (only over https: here the fake Share behind a throw-away certificate, which it accepts as it
// accepts any) and posts entries to the Nightscout site it is given, as it would to a real Nightscout.
const bridgeScript = createRequire(import.meta.url).resolve("share2nightscout-bridge")
const certificate = selfSignedCertificate()
if (!certificate.available) console.warn(`[skip] share2nightscout-bridge end to end: ${certificate.reason}`)

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-bridge-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const USERNAME = "bridge-user@example.org"
const PASSWORD = "Share-Pa55word-For-The-Bridge"
const TRENDS = [
  "none",
  "doubleUp",
  "singleUp",
  "fortyFiveUp",
  "flat",
  "fortyFiveDown",
  "singleDown",
  "doubleDown",
  "notComputable",
  "rateOutOfRange"
]

const json = async (url: string, init?: RequestInit) => {
  const response = await fetch(url, init)
  return { status: response.status, body: (await response.json()) as any }
}

/** Runs the bridge's own command line until it reports its first upload; answers what it printed. */
const runBridge = (env: Record<string, string>, timeoutMs = 20_000) =>
  new Promise<string>((resolve, reject) => {
    let output = ""
    const child: ChildProcess = spawn(process.execPath, [bridgeScript], {
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env }
    })
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`the bridge did not upload within ${timeoutMs} ms:\n${output}`))
    }, timeoutMs)
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      if (/Nightscout upload/.test(output)) {
        clearTimeout(timer)
        child.kill("SIGTERM")
        resolve(output)
      }
    }
    child.stdout?.on("data", collect)
    child.stderr?.on("data", collect)
    child.once("exit", (code) => {
      if (!/Nightscout upload/.test(output)) {
        clearTimeout(timer)
        reject(new Error(`the bridge exited (${code}) before uploading:\n${output}`))
      }
    })
  })

const ingested = async (baseUrl: string, change: string) => {
  const text = await (await fetch(`${baseUrl}/metrics`)).text()
  const line = text
    .split("\n")
    .find((l) => l.startsWith("bg_ingest_readings_ingested_total") && l.includes(`"${change}"`))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
}

describe("share2nightscout-bridge (the real uploader, from npm) writing into a user's Nightscout site", () => {
  it.skipIf(!certificate.available)(
    "every Share value reaches the store exactly once, under /ns/<user> and again at the root",
    async () => {
      const fake = await startFakeShare()
      const front = await startTlsFront(Number(new URL(fake.url).port), certificate as { key: string; cert: string })
      const service = await startService({ DATA_DIR: dataDir, PORT: String(await freePort()), DEMO_USERS: "" })
      try {
        const now = Date.now()
        const series = shareSeries({ start: now - 20 * 3_600_000, count: 230, nullEvery: 17, highLowEvery: 19 })
        fake.addAccount(USERNAME, { password: PASSWORD, records: series.records })
        const opened = await json(`${service.baseUrl}/api/bg/bridge-user/nightscout`, { method: "POST" })
        assert.strictEqual(opened.status, 201)
        const bridgeEnv = {
          BRIDGE_SERVER: front.host,
          DEXCOM_ACCOUNT_NAME: USERNAME,
          DEXCOM_PASSWORD: PASSWORD,
          API_SECRET: opened.body.api_secret as string,
          firstFetchCount: "288",
          maxFailures: "1",
          SHARE_INTERVAL: "3600000"
        }

        const printed = await runBridge({ ...bridgeEnv, NS: `${service.baseUrl}/ns/bridge-user` })
        assert.match(printed, /Nightscout upload error null status 200/)

        // The oracle: the fake's values as the bridge maps them (trend by its number) and Nightscout reads them
        // (39 and below LOW, above 400 HIGH; a value without glucose is skipped).
        const expected = series.records
          .filter((record) => record.value !== null)
          .map((record) => ({
            timestamp: new Date(Math.floor(record.epochMillis / 1000) * 1000).toISOString().replace(".000", ""),
            glucose_mg_dl: record.value,
            trend: TRENDS[record.trend as number],
            status: record.value! <= 39 ? "low" : record.value! > 400 ? "high" : "ok",
            source: "nightscout-upload"
          }))
        const from = new Date(now - 21 * 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z")
        const to = new Date(now + 3_600_000).toISOString().replace(/\.\d{3}Z$/, "Z")
        const stored = await json(`${service.baseUrl}/api/bg/bridge-user?from=${from}&to=${to}&limit=50000`)
        assert.strictEqual(stored.body.length, expected.length)
        for (const [index, reading] of stored.body.entries()) {
          const { timestamp, glucose_mg_dl, trend, status, source } = reading
          assert.deepStrictEqual(
            { timestamp, glucose_mg_dl, trend, status, source },
            expected[index],
            `reading ${index}`
          )
        }
        assert.strictEqual(await ingested(service.baseUrl, "inserted"), expected.length)

        // The same bridge pointed at the service's root: the API secret names the user, and the same values
        // change nothing.
        const again = await runBridge({ ...bridgeEnv, NS: service.baseUrl })
        assert.match(again, /Nightscout upload error null status 200/)
        assert.strictEqual(await ingested(service.baseUrl, "unchanged"), expected.length)
        assert.strictEqual(await ingested(service.baseUrl, "inserted"), expected.length)
        const served = await json(`${service.baseUrl}/api/v1/entries.json?count=0&token=${opened.body.read_token}`)
        assert.deepStrictEqual(
          served.body.map((entry: { sgv: number }) => entry.sgv),
          expected.map((reading) => reading.glucose_mg_dl).reverse()
        )
        const secretHash = createHash("sha1").update(opened.body.api_secret).digest("hex")
        for (const secret of [opened.body.api_secret, secretHash, opened.body.read_token]) {
          assert.notInclude(service.output(), secret)
        }
      } finally {
        await service.stop()
        await front.close()
        await fake.close()
      }
    },
    90_000
  )
})
