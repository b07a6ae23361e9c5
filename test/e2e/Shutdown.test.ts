import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { modelReadings, profileOf } from "@bg-ingest/adapters/simulator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-shutdown-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const USERS = Array.from({ length: 80 }, (_, index) => `shutdown-${index}`)

describe("shutdown", () => {
  it("SIGTERM in the middle of syncing exits 0 in time, and the next start has lost and doubled nothing", async () => {
    const env = { DATA_DIR: dataDir, DEMO_USERS: USERS.join(","), SHUTDOWN_TIMEOUT_SECONDS: "10" }
    const { spawn } = await import("node:child_process")
    const child = spawn(process.execPath, ["--conditions=@bg-ingest/source", "packages/runner/bin/bg-ingest.mjs"], {
      cwd: new URL("../../", import.meta.url).pathname,
      env: { PATH: process.env.PATH ?? "", ...env, PORT: "0" }
    })
    let output = ""
    const signalled = new Promise<void>((resolve) => {
      child.stdout.on("data", (chunk) => {
        output += chunk
        // Part-way through syncing the users: some are done, the rest are not.
        if (output.includes("Demo user shutdown-30:") && !child.killed) {
          child.kill("SIGTERM")
          resolve()
        }
      })
    })
    const started = Date.now()
    const exitCode = await new Promise<number | null>((resolve) => child.once("exit", resolve))
    await signalled
    assert.strictEqual(exitCode, 0, output)
    assert.isBelow(Date.now() - started, 20_000)

    const service = await startService(env, 60_000)
    try {
      for (const userId of [USERS[0]!, USERS[30]!, USERS[31]!, USERS[79]!]) {
        const stored = (await (await fetch(`${service.baseUrl}/api/bg/${userId}`)).json()) as Array<{
          timestamp: string
          glucose_mg_dl: number
        }>
        assert.isAbove(stored.length, 200, userId)
        const seconds = stored.map((reading) => Date.parse(reading.timestamp) / 1000)
        // Exactly the sensor's readings between the first and the last stored: no gap, no duplicate.
        const expected = modelReadings(profileOf(userId), seconds[0]!, seconds.at(-1)! + 1).filter(
          (record) => record.value !== null
        )
        assert.deepStrictEqual(
          stored.map((reading) => [Date.parse(reading.timestamp) / 1000, reading.glucose_mg_dl]),
          expected.map((record) => [record.epochSeconds, record.value]),
          userId
        )
      }
    } finally {
      assert.strictEqual(await service.stop(), 0)
    }
  })
})
