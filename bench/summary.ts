/**
 * The 90-day glycemic summary (25,920 readings): `GET /api/bg/:userId/summary` answered by the service's own
 * composition root (SQLite, in its own process) next to the same figures computed in a plain loop over the store's
 * rows (the SQLite adapter's own SELECT through `node:sqlite`, in this process). Also the domain's `summarize`
 * alone next to the plain loop over the same rows in memory, and the report page next to the summary.
 *
 *   node --conditions=@bg-ingest/source bench/summary.ts [--record]
 */

import { mkdtempSync, rmSync } from "node:fs"
import { get } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { isDeepStrictEqual } from "node:util"
import { READING_COLUMNS } from "@bg-ingest/adapters/sqlite"
import { makeReading, makeWindow, summarize, TimeZoneName } from "@bg-ingest/domain"
import { DateTime } from "effect"
import {
  BENCH_USER,
  CADENCE_SECONDS,
  currentAnchorSeconds,
  NINETY_DAYS_OF_READINGS,
  prefillDatabase
} from "./support/dataset.ts"
import { recordRequested, runBenchmarks } from "./support/main.ts"
import { plainSummary, type Row as StoreRow } from "./support/plainSummary.ts"
import { cpuMillis } from "./support/processes.ts"
import { atMost, duration, formatRatio, type Row, show, spread } from "./support/report.ts"
import { alternate, settings } from "./support/rounds.ts"
import { startService } from "./support/service.ts"
import { median, pairedRatios } from "./support/stats.ts"

const ZONE = "Europe/Berlin"
/** Answers timed per round; the median is the round's figure. */
const SAMPLES = Number(process.env.BENCH_SUMMARY_SAMPLES ?? 15)

const timed = async (samples: number, once: () => Promise<unknown> | unknown): Promise<number> =>
  (await timedWithCpu(samples, once, () => 0)).wall

/** CPU milliseconds this process has used. */
const ownCpuMillis = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

/** The median wall time of `samples` calls, and the CPU time per call read from `cpu` around them. */
const timedWithCpu = async (samples: number, once: () => Promise<unknown> | unknown, cpu: () => number) => {
  const times: Array<number> = []
  const cpuBefore = cpu()
  for (let i = 0; i < samples; i++) {
    const started = performance.now()
    await once()
    times.push(performance.now() - started)
  }
  return { wall: median(times), cpu: (cpu() - cpuBefore) / samples }
}

/**
 * One GET on a fresh connection: the benchmark's pauses between requests outlast the server's keep-alive, and a
 * pooled connection closed by the server while being reused would fail the request.
 */
const fetchText = (url: string) =>
  new Promise<string>((resolve, reject) => {
    get(url, { agent: false }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => {
        text += chunk
      })
      response.on("end", () =>
        response.statusCode === 200
          ? resolve(text)
          : reject(new Error(`${url}: ${response.statusCode} ${text.slice(0, 200)}`))
      )
    }).on("error", reject)
  })

export const summaryBenchmark = async (): Promise<ReadonlyArray<Row>> => {
  const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-summary-"))
  const filename = join(dataDir, "bg-ingest.db")
  const anchor = currentAnchorSeconds()
  const toSeconds = anchor + CADENCE_SECONDS
  const fromSeconds = toSeconds - 90 * 86_400
  prefillDatabase(filename, anchor, 0)
  const service = await startService(dataDir)
  const db = new DatabaseSync(filename, { readOnly: true })
  try {
    const select = db.prepare(
      `SELECT ${READING_COLUMNS} FROM readings WHERE user_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?`
    )
    const readRows = () =>
      select.all(BENCH_USER, fromSeconds, toSeconds, NINETY_DAYS_OF_READINGS + 1) as unknown as Array<StoreRow>
    const baseline = () => plainSummary(readRows(), fromSeconds * 1000, toSeconds * 1000, ZONE)
    const at = (seconds: number) => DateTime.formatIso(DateTime.makeUnsafe(seconds * 1000)).replace(".000Z", "Z")
    const query = `from=${at(fromSeconds)}&to=${at(toSeconds)}&tz=${ZONE}`
    const summaryUrl = `${service.url}/api/bg/${BENCH_USER}/summary?${query}`
    const reportUrl = `${service.url}/api/bg/${BENCH_USER}/report?${query}`

    // The two must compute the same figures, or the comparison means nothing.
    const answered = JSON.parse(await fetchText(summaryUrl))
    const plain = baseline()
    if (answered.readings !== NINETY_DAYS_OF_READINGS)
      throw new Error(`the summary counted ${answered.readings} readings`)
    const differing = Object.keys(plain).filter((key) => !isDeepStrictEqual(answered[key], (plain as any)[key]))
    const same = differing.length === 0 ? "same figures" : `figures differ in ${differing.join(", ")}`

    await timed(3, () => fetchText(summaryUrl))
    await timed(3, baseline)
    const measured = await alternate(
      settings.rounds,
      () => timedWithCpu(SAMPLES, baseline, ownCpuMillis),
      () =>
        timedWithCpu(
          SAMPLES,
          () => fetchText(summaryUrl),
          () => cpuMillis(service.process.pid)
        )
    )
    const http = { baseline: measured.baseline.map((m) => m.wall), target: measured.target.map((m) => m.wall) }
    const cpu = { baseline: measured.baseline.map((m) => m.cpu), target: measured.target.map((m) => m.cpu) }

    const rows = readRows()
    const readings = rows.map((row) =>
      makeReading({
        userId: BENCH_USER,
        timestamp: DateTime.makeUnsafe(row.ts * 1000),
        glucoseMgDl: row.glucose_mg_dl,
        source: { provider: "simulator" as never, recordId: null }
      })
    )
    const window = makeWindow(DateTime.makeUnsafe(fromSeconds * 1000), DateTime.makeUnsafe(toSeconds * 1000))
    const zone = TimeZoneName.make(ZONE)
    const compute = await alternate(
      settings.rounds,
      () => timed(SAMPLES, () => plainSummary(rows, fromSeconds * 1000, toSeconds * 1000, ZONE)),
      () => timed(SAMPLES, () => summarize(readings, window, zone))
    )

    await timed(3, () => fetchText(reportUrl))
    const report = await alternate(
      settings.rounds,
      () => timed(SAMPLES, () => fetchText(summaryUrl)),
      () => timed(SAMPLES, () => fetchText(reportUrl))
    )
    const reportBytes = Buffer.byteLength(await fetchText(reportUrl))

    const httpRatio = median(pairedRatios(http.target, http.baseline))
    const quantity = duration(median(http.target))
    return [
      {
        benchmark: "GET /summary, 90 days (25,920 readings), time per answer",
        figure: spread(quantity, http.target),
        baseline: `${show(duration(median(http.baseline)), median(http.baseline))} (SELECT + plain loop)`,
        ratio: formatRatio(httpRatio),
        target: "≤ 2.00×",
        verdict: atMost(httpRatio, 2),
        note: `the service over loopback HTTP (its SELECT, readings, summary, JSON) vs the adapter's SELECT and a plain loop in the benchmark's process; ${same}; ${SAMPLES} sequential answers per round, median`
      },
      {
        benchmark: "GET /summary, 90 days, CPU per answer",
        figure: spread(duration(median(cpu.target)), cpu.target),
        baseline: `${show(duration(median(cpu.baseline)), median(cpu.baseline))} (SELECT + plain loop)`,
        ratio: formatRatio(median(pairedRatios(cpu.target, cpu.baseline))),
        target: "—",
        verdict: "report",
        note: "the service process's CPU time per answer (from /proc, 10 ms ticks) vs the benchmark process's own for the plain loop: the steadier figure on a busy machine"
      },
      {
        benchmark: "summarize, 90 days in memory, time per call",
        figure: spread(duration(median(compute.target)), compute.target),
        baseline: `${show(duration(median(compute.baseline)), median(compute.baseline))} (plain loop)`,
        ratio: formatRatio(median(pairedRatios(compute.target, compute.baseline))),
        target: "—",
        verdict: "report",
        note: "the domain's function on 25,920 readings vs the plain loop on the same rows (exact rounding and the zone's transitions vs floating point and an offset per hour)"
      },
      {
        benchmark: "GET /report, 90 days, time per answer",
        figure: spread(duration(median(report.target)), report.target),
        baseline: `${show(duration(median(report.baseline)), median(report.baseline))} (GET /summary)`,
        ratio: formatRatio(median(pairedRatios(report.target, report.baseline))),
        target: "—",
        verdict: "report",
        note: `the HTML page with 91 daily curves, ${(reportBytes / 1024).toFixed(0)} KiB`
      }
    ]
  } finally {
    db.close()
    await service.process.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  await runBenchmarks("Glycemic summary", [{ name: "summary", run: summaryBenchmark }], { record: recordRequested() })
}
