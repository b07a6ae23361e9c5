import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { json, simulatorUserCheck } from "../support/e2e.ts"
import { available, itNeeding, unavailable } from "../support/needs.ts"
import { runServiceToExit, startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

/** A Node.js older than 24 on this machine, to try the service's refusal with. */
const oldNode = ["/usr/bin/node", "/usr/local/bin/node"].find((path) => {
  if (!existsSync(path)) return false
  const version = execFileSync(path, ["--version"]).toString().trim()
  return Number(version.slice(1).split(".")[0]) < 24
})

describe("the service as a new user starts it", () => {
  it("serves the demo users' last 24 hours, keeps them across a restart and stops cleanly on SIGTERM", async () => {
    const first = await startService({ DATA_DIR: dataDir })
    const latest = await json(`${first.baseUrl}/api/bg/demo-1/latest`)
    assert.strictEqual(latest.status, 200)
    assert.match(latest.body.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)

    // Exactly what the simulator measured from the connection's start to its cursor: nothing missing, nothing more.
    const day = await simulatorUserCheck(first.baseUrl, "demo-1")
    assert.deepStrictEqual(day.storedPairs, day.expectedPairs)
    assert.strictEqual(day.stored.at(-1)!.timestamp, latest.body.timestamp)
    for (const user of ["demo-2", "demo-3"]) {
      assert.strictEqual((await json(`${first.baseUrl}/api/bg/${user}/latest`)).status, 200)
    }
    // The service's own request log, not the router's default one.
    assert.notInclude(first.output(), "Sent HTTP response")
    assert.strictEqual(await first.stop(), 0)
    assert.isTrue(existsSync(join(dataDir, "bg-ingest.db")))

    const second = await startService({ DATA_DIR: dataDir })
    // Nothing lost, nothing doubled: the same readings, plus exactly the ones measured meanwhile.
    const after = await simulatorUserCheck(second.baseUrl, "demo-1")
    assert.strictEqual(after.connection.backfill_from, day.connection.backfill_from)
    assert.deepStrictEqual(after.storedPairs, after.expectedPairs)
    assert.deepStrictEqual(after.storedPairs.slice(0, day.storedPairs.length), day.storedPairs)
    assert.strictEqual(await second.stop(), 0)
  })

  it("refuses bad configuration with one readable message and exit code 1", () => {
    const { status, stderr } = runServiceToExit({ PORT: "seventy", STORE: "oracle", DATA_DIR: dataDir })
    assert.strictEqual(status, 1, stderr)
    assert.include(stderr, "PORT must be an integer")
    assert.include(stderr, "STORE must be one of sqlite, dynamodb, memory")
    assert.notInclude(stderr, "    at ")
  })

  itNeeding(
    "old-node",
    oldNode === undefined ? unavailable("no Node.js older than 24 on this machine") : available,
    "refuses to start on a Node.js older than 24, saying how to get the right one",
    () => {
      const { status, stderr } = runServiceToExit({ DATA_DIR: dataDir }, { node: oldNode! })
      assert.strictEqual(status, 1, stderr)
      assert.include(stderr, "bg-ingest needs Node.js 24 or newer")
    }
  )
})
