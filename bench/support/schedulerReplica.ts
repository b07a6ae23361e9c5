/**
 * One replica of the three-replica scheduler benchmark (bench/scheduler.ts), forked with an IPC channel: the
 * runner's own layers on DynamoDB at `endpoint` (table `table`, shared by every replica), events in process, the
 * simulator. Says `ready`, waits for `go`, then runs scheduler cycles until one claims nothing (every due
 * connection is synced, by it or by another replica), and sends its figures.
 *
 *   node --conditions=@bg-ingest/source bench/support/schedulerReplica.ts <dataDir> <endpoint> <table>
 */
import { Scheduler } from "@bg-ingest/domain"
import { Effect } from "effect"
import { serviceCore } from "./service.ts"

const [dataDir, endpoint, table] = process.argv.slice(2)
if (dataDir === undefined || endpoint === undefined || table === undefined || process.send === undefined) {
  console.error("usage (forked): schedulerReplica.ts <dataDir> <endpoint> <table>")
  process.exit(2)
}
const send = process.send.bind(process)

const go = new Promise<void>((resolve) => process.once("message", () => resolve()))

const figures = await Effect.runPromise(
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    send({ ready: true })
    yield* Effect.promise(() => go)
    const cpuBefore = process.cpuUsage()
    const started = performance.now()
    let claimed = 0
    let succeeded = 0
    let cycles = 0
    while (true) {
      const report = yield* scheduler.runCycle
      cycles += 1
      claimed += report.claimed
      succeeded += report.succeeded
      if (report.claimed === 0) break
    }
    const wallMs = performance.now() - started
    const cpu = process.cpuUsage(cpuBefore)
    return {
      claimed,
      succeeded,
      cycles,
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      peakRss: process.resourceUsage().maxRSS * 1024
    }
  }).pipe(
    Effect.provide(
      serviceCore(dataDir, {
        STORE: "dynamodb",
        DYNAMODB_ENDPOINT: endpoint,
        DYNAMODB_TABLE: table,
        AWS_REGION: "eu-west-1"
      })
    ),
    Effect.scoped
  )
)
send(figures, () => process.exit(0))
