/**
 * Start-up to ready and idle memory: the real entry point (`packages/runner/bin/bg-ingest.mjs`, as `npm start`
 * runs it, from TypeScript source) until `/ready` answers 200, first on an empty DATA_DIR (it creates the
 * database and seeds the three demo users' last 24 hours) and then restarted on the same one; next to a bare
 * `node:http` process. Idle RSS is read 2 s after ready.
 *
 *   node --conditions=@bg-ingest/source bench/startup.ts [--record]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setTimeout as sleep } from "node:timers/promises"
import { recordRequested, runBenchmarks } from "./support/main.ts"
import { freePort, residentBytes, SOURCE_CONDITION, startNode, waitUntilOk } from "./support/processes.ts"
import { duration, formatRatio, mebibytes, type Row, show, spread } from "./support/report.ts"
import { alternate, settings } from "./support/rounds.ts"
import { median, pairedRatios } from "./support/stats.ts"

const IDLE_MS = 2000

interface Start {
  readonly readyMs: number
  readonly idleRss: number
}

const startAndMeasure = async (
  nodeArgs: ReadonlyArray<string>,
  script: string,
  args: (port: number) => ReadonlyArray<string>,
  env: (port: number) => Record<string, string>
): Promise<Start> => {
  const port = await freePort()
  const started = performance.now()
  const process = startNode(nodeArgs, script, args(port), env(port))
  try {
    const readyMs = await waitUntilOk(process, `http://127.0.0.1:${port}/ready`, started)
    await sleep(IDLE_MS)
    return { readyMs, idleRss: residentBytes(process.pid) }
  } finally {
    await process.stop()
  }
}

const bare = () =>
  startAndMeasure(
    [],
    "bench/support/bareReady.mjs",
    (port) => [String(port)],
    () => ({})
  )

const service = (dataDir: string) =>
  startAndMeasure(
    [SOURCE_CONDITION],
    "packages/runner/bin/bg-ingest.mjs",
    () => [],
    (port) => ({
      APP_ENV: "development",
      HOST: "127.0.0.1",
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_FORMAT: "json"
    })
  )

/** A first start on an empty data directory, then a restart on it. */
const firstAndRestart = async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-startup-"))
  try {
    const first = await service(dataDir)
    const restart = await service(dataDir)
    return { first, restart }
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

const row = (
  benchmark: string,
  target: ReadonlyArray<number>,
  baseline: ReadonlyArray<number>,
  quantity: ReturnType<typeof duration>
): Row => ({
  benchmark,
  figure: spread(quantity, target),
  baseline: show(quantity, median(baseline)),
  ratio: formatRatio(median(pairedRatios(target, baseline))),
  target: "—",
  verdict: "report"
})

export const startupBenchmark = async (): Promise<ReadonlyArray<Row>> => {
  await bare()
  const results = await alternate(settings.rounds, bare, firstAndRestart)
  const bareReady = results.baseline.map((start) => start.readyMs)
  const bareRss = results.baseline.map((start) => start.idleRss)
  const time = duration(median(results.target.map((run) => run.first.readyMs)))
  return [
    row(
      "start-up to ready, first start (creates the database, seeds 3 demo users)",
      results.target.map((run) => run.first.readyMs),
      bareReady,
      time
    ),
    row(
      "start-up to ready, restart",
      results.target.map((run) => run.restart.readyMs),
      bareReady,
      time
    ),
    row(
      `idle RSS ${IDLE_MS / 1000} s after ready (restart)`,
      results.target.map((run) => run.restart.idleRss),
      bareRss,
      mebibytes
    )
  ]
}

if (import.meta.main) {
  await runBenchmarks("Start-up", [{ name: "startup", run: startupBenchmark }], { record: recordRequested() })
}
