import { createHmac } from "node:crypto"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startService } from "../support/processes.ts"

const scratch = mkdtempSync(join(tmpdir(), "bg-ingest-files-"))
afterAll(() => rmSync(scratch, { recursive: true, force: true }))

const mode = (path: string) => statSync(path).mode & 0o777

const deliver = (baseUrl: string, secret: string) => {
  const path = "/api/bg/files-user/webhook"
  const body = JSON.stringify({
    readings: [{ timestamp: `${new Date(Date.now() - 60_000).toISOString().slice(0, 19)}Z`, glucose_mg_dl: 100 }]
  })
  const timestamp = String(Math.floor(Date.now() / 1000))
  const mac = createHmac("sha256", secret).update(`${timestamp}.${path}.${body}`).digest("hex")
  return fetch(`${baseUrl}${path}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-webhook-timestamp": timestamp,
      "x-webhook-signature": `sha256=${mac}`
    },
    body
  })
}

describe("data files and development secrets", () => {
  it("a DATA_DIR the service creates is 0700; the database, its WAL and SHM and the secret are 0600", async () => {
    const dataDir = join(scratch, "fresh", "data")
    const service = await startService({ DATA_DIR: dataDir, DEMO_USERS: "files-demo" })
    try {
      assert.strictEqual(mode(dataDir), 0o700)
      for (const file of ["bg-ingest.db", "bg-ingest.db-wal", "bg-ingest.db-shm", "webhook-secret"]) {
        assert.isTrue(existsSync(join(dataDir, file)), file)
        assert.strictEqual(mode(join(dataDir, file)), 0o600, file)
      }
    } finally {
      assert.strictEqual(await service.stop(), 0)
    }
  }, 60_000)

  it("a kept webhook secret under 16 characters (an empty file) is replaced, never an empty HMAC key", async () => {
    const dataDir = join(scratch, "weak")
    for (const [name, weak] of [
      ["empty", ""],
      ["short", "0123456789abcde"]
    ] as const) {
      const dir = join(dataDir, name)
      rmSync(dir, { recursive: true, force: true })
      mkdirSync(dir, { recursive: true })
      writeFileSync(join(dir, "webhook-secret"), weak, { mode: 0o644 })
      const service = await startService({ DATA_DIR: dir, DEMO_USERS: "" })
      try {
        assert.strictEqual((await deliver(service.baseUrl, weak)).status, 401, name)
        const replaced = readFileSync(join(dir, "webhook-secret"), "utf8").trim()
        assert.isAtLeast(replaced.length, 16)
        assert.strictEqual(mode(join(dir, "webhook-secret")), 0o600)
        assert.strictEqual((await deliver(service.baseUrl, replaced)).status, 202, name)
      } finally {
        assert.strictEqual(await service.stop(), 0)
      }
    }
  }, 90_000)
})
