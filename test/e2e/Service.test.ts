import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const json = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, type: response.headers.get("content-type"), body: (await response.json()) as any }
}

describe("the service as a new user starts it", () => {
  it("serves the demo users' last 24 hours, keeps them across a restart and stops cleanly on SIGTERM", async () => {
    const first = await startService({ DATA_DIR: dataDir })
    const latest = await json(`${first.baseUrl}/api/bg/demo-1/latest`)
    assert.strictEqual(latest.status, 200)
    assert.match(latest.body.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
    assert.isTrue(Number.isInteger(latest.body.glucose_mg_dl))
    assert.isTrue(latest.body.glucose_mg_dl >= 40 && latest.body.glucose_mg_dl <= 400)

    const day = await json(`${first.baseUrl}/api/bg/demo-1`)
    const times = (day.body as Array<{ timestamp: string }>).map((reading) => Date.parse(reading.timestamp))
    // 288 a day at a 5-minute cadence, less the simulated sensor gaps.
    assert.isAtLeast(times.length, 250)
    assert.isAtMost(times.length, 288)
    assert.isTrue(times.every((time, index) => index === 0 || time > times[index - 1]!))
    for (const user of ["demo-2", "demo-3"]) {
      assert.strictEqual((await json(`${first.baseUrl}/api/bg/${user}/latest`)).status, 200)
    }
    // The service's own request log, not the router's default one.
    assert.notInclude(first.output(), "Sent HTTP response")
    assert.strictEqual(await first.stop(), 0)
    assert.isTrue(existsSync(join(dataDir, "bg-ingest.db")))

    const second = await startService({ DATA_DIR: dataDir })
    const after = await json(`${second.baseUrl}/api/bg/demo-1?from=${day.body[0].timestamp}`)
    const afterTimes = (after.body as Array<{ timestamp: string }>).map((reading) => Date.parse(reading.timestamp))
    // Nothing lost, nothing doubled: the same readings, plus any that arrived meanwhile.
    assert.deepStrictEqual(afterTimes.slice(0, times.length), times)
    assert.strictEqual(new Set(afterTimes).size, afterTimes.length)
    assert.strictEqual(await second.stop(), 0)
  })

  it("refuses bad configuration with one readable message and exit code 1", () => {
    try {
      execFileSync(process.execPath, ["--conditions=@bg-ingest/source", "packages/runner/bin/bg-ingest.mjs"], {
        cwd: new URL("../../", import.meta.url).pathname,
        env: { PATH: process.env.PATH ?? "", PORT: "seventy", STORE: "oracle", DATA_DIR: dataDir },
        stdio: "pipe"
      })
      assert.fail("the service started with a bad configuration")
    } catch (error) {
      const failure = error as { status: number; stderr: Buffer }
      assert.strictEqual(failure.status, 1)
      const message = failure.stderr.toString()
      assert.include(message, "PORT must be an integer")
      assert.include(message, "STORE must be one of sqlite, dynamodb, memory")
      assert.notInclude(message, "    at ")
    }
  })

  it("refuses to start on a Node.js older than 24, saying how to get the right one", () => {
    const old = ["/usr/bin/node", "/usr/local/bin/node"].find((path) => {
      if (!existsSync(path)) return false
      const version = execFileSync(path, ["--version"]).toString().trim()
      return Number(version.slice(1).split(".")[0]) < 24
    })
    if (old === undefined) return // no older Node on this machine to try it with
    try {
      execFileSync(old, ["packages/runner/bin/bg-ingest.mjs"], {
        cwd: new URL("../../", import.meta.url).pathname,
        stdio: "pipe"
      })
      assert.fail("started on an old Node")
    } catch (error) {
      const failure = error as { status: number; stderr: Buffer }
      assert.strictEqual(failure.status, 1)
      assert.include(failure.stderr.toString(), "bg-ingest needs Node.js 24 or newer")
    }
  })
})
