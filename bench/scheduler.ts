/**
 * One poll cycle of the scheduler with every connection due at once: 10,000 simulator connections, caught up
 * to 15 minutes ago, on the runner's own layers (SQLite store in a data directory on disk, events in process,
 * concurrency 8), each cycle in a fresh process so that its memory is its own: wall time, CPU time, peak RSS.
 * Then 100,000 connections for memory (target: peak RSS < 1 GiB), on tmpfs when there is one so that the disk's
 * fsyncs do not make it take minutes. Then replicas sharing one store (bench/support/schedulerReplicas.ts): the same
 * due connections (BENCH_SCHEDULER_REPLICA_CONNECTIONS, default 600) in one DynamoDB table (dynalite, behind a
 * counting proxy), synced by one replica and then by three at once: wall time, CPU per sync, how the three shared
 * the work, DynamoDB requests and items per sync. (SQLite is one file per replica, so DynamoDB is the shared
 * store; dynalite and every replica share this machine's cores, which bounds what three replicas can show.)
 *
 *   node --conditions=@bg-ingest/source bench/scheduler.ts [--record]
 */
import { execFile } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import { recordRequested, runBenchmarks } from "./support/main.ts"
import { REPOSITORY, SOURCE_CONDITION } from "./support/processes.ts"
import { duration, mebibytes, type Row, show } from "./support/report.ts"
import { type ReplicasRun, runReplicas } from "./support/schedulerReplicas.ts"

const run = promisify(execFile)

const SMALL = Number(process.env.BENCH_SCHEDULER_CONNECTIONS ?? 10_000)
const LARGE = Number(process.env.BENCH_SCHEDULER_LARGE_CONNECTIONS ?? 100_000)
const SHARED = Number(process.env.BENCH_SCHEDULER_REPLICA_CONNECTIONS ?? 600)
const GiB = 2 ** 30

interface Cycle {
  readonly connections: number
  readonly claimed: number
  readonly succeeded: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly rssBefore: number
  readonly rssAfter: number
  readonly peakRss: number
  readonly heapUsedAfterGc: number
}

const cycle = async (connections: number, parent: string): Promise<Cycle> => {
  const dataDir = mkdtempSync(join(parent, "bg-ingest-bench-scheduler-"))
  try {
    const { stdout } = await run(
      process.execPath,
      [SOURCE_CONDITION, "--expose-gc", "bench/support/schedulerCycle.ts", String(connections), dataDir],
      { cwd: REPOSITORY, maxBuffer: 1 << 20, timeout: 15 * 60_000 }
    )
    return JSON.parse(stdout.trim().split("\n").at(-1)!) as Cycle
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const report = (benchmark: string, figure: string, note?: string): Row => ({
  benchmark,
  figure,
  baseline: "—",
  ratio: "—",
  target: "—",
  verdict: "report",
  ...(note === undefined ? {} : { note })
})

const count = (value: number) => value.toLocaleString("en-US")

/** The rows of one run of replicas sharing DynamoDB. */
const replicaRows = (run: ReplicasRun): ReadonlyArray<Row> => {
  const synced = run.replicas.reduce((sum, replica) => sum + replica.succeeded, 0)
  const claimed = run.replicas.reduce((sum, replica) => sum + replica.claimed, 0)
  const cpuMs = run.replicas.reduce((sum, replica) => sum + replica.cpuMs, 0)
  const requests = Object.values(run.dynamo.requests).reduce((sum, count) => sum + count, 0)
  const name = `scheduler, ${run.replicas.length} replica${run.replicas.length === 1 ? "" : "s"} on one DynamoDB table (dynalite), ${count(run.connections)} connections due`
  const share = run.replicas.map((replica) => count(replica.claimed)).join(" / ")
  const perSync = (value: number) => (value / Math.max(1, synced)).toFixed(1)
  const byOperation = Object.entries(run.dynamo.requests)
    .sort(([, a], [, b]) => b - a)
    .map(([operation, calls]) => `${operation} ${perSync(calls)}`)
    .join(", ")
  return [
    report(
      `${name}, wall time`,
      show(duration(run.wallMs), run.wallMs),
      `${show(duration(run.wallMs / run.connections), run.wallMs / run.connections)} per connection; synced ${count(synced)}, claimed ${count(claimed)} (${share} by replica)${synced === run.connections ? "" : `; only ${count(synced)} of ${count(run.connections)} synced`}`
    ),
    report(
      `${name}, CPU per sync`,
      show(duration(cpuMs / Math.max(1, synced)), cpuMs / Math.max(1, synced)),
      `all replicas together ${show(duration(cpuMs), cpuMs)}; peak RSS ${run.replicas.map((replica) => show(mebibytes, replica.peakRss)).join(" / ")}`
    ),
    report(
      `${name}, DynamoDB requests per sync`,
      perSync(requests),
      `${byOperation}; items written ${perSync(run.dynamo.itemsWritten)}, read ${perSync(run.dynamo.itemsRead)}, conditional writes refused ${perSync(run.dynamo.conditionFailed)} per sync`
    )
  ]
}

export const schedulerBenchmark = async (): Promise<ReadonlyArray<Row>> => {
  const small = await cycle(SMALL, tmpdir())
  const memoryDir = existsSync("/dev/shm") ? "/dev/shm" : tmpdir()
  const large = await cycle(LARGE, memoryDir)
  const alone = await runReplicas(SHARED, 1)
  const three = await runReplicas(SHARED, 3)
  const name = `scheduler, ${count(SMALL)} connections due, one cycle`
  const incomplete = (result: Cycle) =>
    result.succeeded === result.connections
      ? ""
      : `; only ${count(result.succeeded)} of ${count(result.connections)} synced`
  return [
    report(
      `${name}, wall time`,
      show(duration(small.wallMs), small.wallMs),
      `SQLite in ${tmpdir()} (synchronous=FULL: about five commits, each an fsync, per sync); ${show(duration(small.wallMs / small.connections), small.wallMs / small.connections)} per connection${incomplete(small)}`
    ),
    report(`${name}, CPU time`, show(duration(small.cpuMs), small.cpuMs)),
    report(
      `${name}, peak RSS`,
      show(mebibytes, small.peakRss),
      `${show(mebibytes, small.rssBefore)} before the cycle; heap in use after it, once collected: ${show(mebibytes, small.heapUsedAfterGc)}`
    ),
    {
      benchmark: `scheduler, ${count(LARGE)} connections due, one cycle, peak RSS`,
      figure: show(mebibytes, large.peakRss),
      baseline: "—",
      ratio: "—",
      target: "< 1 GiB",
      verdict: large.peakRss < GiB && large.succeeded === large.connections ? "pass" : "miss",
      note:
        `SQLite in ${memoryDir}; wall ${show(duration(large.wallMs), large.wallMs)}, CPU ${show(duration(large.cpuMs), large.cpuMs)}; ` +
        `${show(mebibytes, large.rssBefore)} before the cycle; heap in use after it, once collected: ${show(mebibytes, large.heapUsedAfterGc)}${incomplete(large)}`
    },
    ...replicaRows(alone),
    ...replicaRows(three)
  ]
}

if (import.meta.main) {
  await runBenchmarks("Scheduler", [{ name: "scheduler", run: schedulerBenchmark }], { record: recordRequested() })
}
