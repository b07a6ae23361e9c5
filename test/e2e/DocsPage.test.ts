import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { startService } from "../support/processes.ts"

// The docs page in a real browser, with every host but loopback unresolvable: it must render the API reference
// with nothing from elsewhere, and without the browser reporting a Content-Security-Policy violation.
const chromium = ["chromium", "chromium-browser", "google-chrome"].find(
  (command) => spawnSync(command, ["--version"], { encoding: "utf8" }).status === 0
)
if (chromium === undefined) console.warn("[skip] the /docs page in a browser: no chromium on PATH")

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-docs-"))
const profile = mkdtempSync(join(tmpdir(), "bg-ingest-chromium-"))
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true })
  rmSync(profile, { recursive: true, force: true })
})

describe("the /docs page", () => {
  it.skipIf(chromium === undefined)(
    "renders the API reference in a browser that can reach nothing but the service, within its CSP",
    async () => {
      const service = await startService({ DATA_DIR: dataDir, DEMO_USERS: "" })
      try {
        const run = spawnSync(
          chromium!,
          [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            `--user-data-dir=${profile}`,
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=15000",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            "--dump-dom",
            `${service.baseUrl}/docs`
          ],
          { encoding: "utf8", timeout: 90_000, maxBuffer: 64 * 1024 * 1024 }
        )
        assert.strictEqual(run.status, 0, run.stderr.slice(-2000))
        assert.include(run.stdout, "references-rendered")
        assert.include(run.stdout, "The user's most recent reading")
        assert.notMatch(run.stderr, /Content Security Policy|Refused to (load|execute|apply|connect)/i)
        assert.notMatch(run.stderr, /ERR_NAME_NOT_RESOLVED/)
      } finally {
        assert.strictEqual(await service.stop(), 0)
      }
    },
    120_000
  )
})
