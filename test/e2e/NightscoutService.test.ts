import { createHash } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startFakeNightscout } from "../fakes/FakeNightscoutSite.ts"
import { nightscoutSeries } from "../fakes/nightscoutEntries.ts"
import { freePort, startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-nightscout-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const TOKEN = "reader-5e1f0c2a9b7d3e48"

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

describe("the service polling a user's own Nightscout site (a real process, the fake site on loopback)", () => {
  it("connects the site, backfills it by itself, serves it on the user's own site, and never logs a credential", async () => {
    const fake = await startFakeNightscout({ readTokens: [TOKEN], defaultRole: "denied", basePath: "/nightscout" })
    const service = await startService({
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      LOG_LEVEL: "Debug",
      PROVIDERS: "nightscout",
      DEMO_USERS: "",
      SCHEDULER_TICK_SECONDS: "1"
    })
    try {
      const start = Math.floor((Date.now() - 20 * 3_600_000) / 300_000) * 300_000
      const series = nightscoutSeries({ start, count: 230, errorCodeEvery: 19, duplicateEvery: 11, mbgEvery: 5 })
      fake.addEntries(series.entries)
      const connected = await json(`${service.baseUrl}/api/bg/alice/connections/nightscout`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ url: `${fake.url}?token=${TOKEN}` })
      })
      assert.strictEqual(connected.status, 201, JSON.stringify(connected.body))
      await waitFor(async () => {
        const list = await json(`${service.baseUrl}/api/bg/alice/connections`)
        return list.body[0]?.backfill_complete === true ? list.body[0] : undefined
      })
      const from = new Date(start - 60_000).toISOString().replace(/\.\d{3}Z$/, "Z")
      const stored = await json(`${service.baseUrl}/api/bg/alice?from=${from}&limit=50000`)
      assert.deepStrictEqual(
        stored.body.map((reading: { timestamp: string; glucose_mg_dl: number; trend: string; source: string }) => [
          reading.timestamp,
          reading.glucose_mg_dl,
          reading.trend,
          reading.source
        ]),
        series.expected.map((reading) => [
          new Date(reading.epochSeconds * 1000).toISOString().replace(".000", ""),
          reading.glucoseMgDl,
          reading.trend,
          "nightscout"
        ])
      )
      // The same readings, served to the user's followers by the user's own site.
      const site = await json(`${service.baseUrl}/api/bg/alice/nightscout`, { method: "POST" })
      const served = await json(`${service.baseUrl}/ns/alice/api/v1/entries.json?count=3&token=${site.body.read_token}`)
      assert.deepStrictEqual(
        served.body.map((entry: { sgv: number }) => entry.sgv),
        series.expected
          .slice(-3)
          .reverse()
          .map((reading) => reading.glucoseMgDl)
      )
      const output = service.output()
      for (const secret of [TOKEN, site.body.api_secret, site.body.read_token]) assert.notInclude(output, secret)
      assert.notInclude(output, createHash("sha1").update(site.body.api_secret).digest("hex"))
    } finally {
      await service.stop()
      await fake.close()
    }
  })
})
