/**
 * One scheduler cycle in a fresh process, so that its memory is measured alone: `connections` simulator
 * connections, each caught up to 15 minutes ago and due now, in a SQLite database in `dataDir`; then one
 * `Scheduler.runCycle` on the runner's own layers. Prints one JSON line with the figures.
 *
 *   node --conditions=@bg-ingest/source bench/support/schedulerCycle.ts <connections> <dataDir>
 */
import { join } from "node:path"
import { migrations, openDatabase } from "@bg-ingest/adapters/sqlite"
import { Scheduler } from "@bg-ingest/domain"
import { Effect } from "effect"
import { serviceCore } from "./service.ts"

const [countText, dataDir] = process.argv.slice(2)
if (countText === undefined || dataDir === undefined) {
  console.error("usage: schedulerCycle.ts <connections> <dataDir>")
  process.exit(2)
}
const connections = Number(countText)

const prefill = () => {
  const { db } = openDatabase(join(dataDir, "bg-ingest.db"), migrations)
  try {
    const now = Date.now()
    const caughtUp = now - 15 * 60_000
    const insert = db.prepare(`
      INSERT INTO connections (user_id, provider, status, credentials, backfill_from, synced_through, last_sync_at,
        last_reading_at, last_error, next_poll_at, consecutive_failures, created_at, updated_at)
      VALUES (?, 'simulator', 'active', NULL, ?, ?, ?, ?, NULL, ?, 0, ?, ?)`)
    db.exec("BEGIN IMMEDIATE")
    for (let index = 0; index < connections; index++) {
      const due = now - 1000 - (index % 60) * 1000
      insert.run(
        `scheduler-user-${index}`,
        now - 90 * 86_400_000,
        caughtUp,
        caughtUp,
        caughtUp - 60_000,
        due,
        now - 90 * 86_400_000,
        caughtUp
      )
    }
    db.exec("COMMIT")
  } finally {
    db.close()
  }
}

prefill()
const figures = await Effect.runPromise(
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    globalThis.gc?.()
    const rssBefore = process.memoryUsage().rss
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    const report = yield* scheduler.runCycle
    const wallMs = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    const rssAfter = process.memoryUsage().rss
    // ru_maxrss: the peak resident set of the whole process, in KiB on Linux.
    const peakRss = process.resourceUsage().maxRSS * 1024
    // What the cycle left behind once garbage is collected (with --expose-gc), as opposed to what it churned.
    globalThis.gc?.()
    return {
      connections,
      claimed: report.claimed,
      succeeded: report.succeeded,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      rssBefore,
      rssAfter,
      peakRss,
      heapUsedAfterGc: process.memoryUsage().heapUsed
    }
  }).pipe(Effect.provide(serviceCore(dataDir)), Effect.scoped)
)
process.stdout.write(`${JSON.stringify(figures)}\n`)
