import { execFileSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { modelReadings, profileOf } from "@bg-ingest/adapters/simulator"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { available, itNeeding, unavailable } from "../support/needs.ts"
import { runServiceToExit, startService } from "../support/processes.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-e2e-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const json = async (url: string) => {
  const response = await fetch(url)
  return { status: response.status, type: response.headers.get("content-type"), body: (await response.json()) as any }
}

interface Connection {
  readonly backfill_from: string
  readonly synced_through: string | null
}

/** What the simulator's model says demo user `userId` measured between its connection's start and its cursor. */
const modelled = (userId: string, connection: Connection) =>
  modelReadings(
    profileOf(userId),
    Date.parse(connection.backfill_from) / 1000,
    Date.parse(connection.synced_through!) / 1000
  )
    .filter((record) => record.value !== null)
    .map((record) => [record.epochSeconds, record.value])

const stored = (readings: ReadonlyArray<{ timestamp: string; glucose_mg_dl: number }>) =>
  readings.map((reading) => [Date.parse(reading.timestamp) / 1000, reading.glucose_mg_dl])

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
    const [connection] = (await json(`${first.baseUrl}/api/bg/demo-1/connections`)).body as Array<Connection>
    const day = await json(
      `${first.baseUrl}/api/bg/demo-1?from=${connection!.backfill_from}&to=${connection!.synced_through}`
    )
    assert.deepStrictEqual(stored(day.body), modelled("demo-1", connection!))
    assert.strictEqual(day.body.at(-1).timestamp, latest.body.timestamp)
    for (const user of ["demo-2", "demo-3"]) {
      assert.strictEqual((await json(`${first.baseUrl}/api/bg/${user}/latest`)).status, 200)
    }
    // The service's own request log, not the router's default one.
    assert.notInclude(first.output(), "Sent HTTP response")
    assert.strictEqual(await first.stop(), 0)
    assert.isTrue(existsSync(join(dataDir, "bg-ingest.db")))

    const second = await startService({ DATA_DIR: dataDir })
    const [resumed] = (await json(`${second.baseUrl}/api/bg/demo-1/connections`)).body as Array<Connection>
    // Nothing lost, nothing doubled: the same readings, plus exactly the ones measured meanwhile.
    assert.strictEqual(resumed!.backfill_from, connection!.backfill_from)
    const after = await json(
      `${second.baseUrl}/api/bg/demo-1?from=${resumed!.backfill_from}&to=${resumed!.synced_through}`
    )
    assert.deepStrictEqual(stored(after.body), modelled("demo-1", resumed!))
    assert.deepStrictEqual(stored(after.body).slice(0, day.body.length), stored(day.body))
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
