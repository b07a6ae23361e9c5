/**
 * Readings per second pushed end to end through `POST /api/bg/:userId/webhook` (signed deliveries of 288 readings,
 * the service's own composition root in its own process, SQLite, events in process) next to the same batches given
 * to `Ingest.ingest` in this process: what HTTP, JSON, the signature and the body schema add to storing them.
 * Skipped, saying so, while the service has no webhook (the endpoint answers 404).
 *
 *   node --conditions=@bg-ingest/source bench/webhook.ts [--record]
 *
 * Signing (the webhook's contract, README): X-Webhook-Timestamp: <unix seconds>; X-Webhook-Signature: sha256=<hex of
 * HMAC-SHA256(WEBHOOK_SECRET, "<timestamp>.<raw body>")>. The benchmark sets WEBHOOK_SECRET for the service.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { Agent } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Ingest, UserId } from "@bg-ingest/domain"
import { Effect } from "effect"
import { readingsIn, type Workload, workload } from "./ingest.ts"
import { currentAnchorSeconds, readingSeries } from "./support/dataset.ts"
import { recordRequested, runBenchmarks } from "./support/main.ts"
import type { NodeProcess } from "./support/processes.ts"
import { atLeast, formatRatio, type Row, rate, show, spread } from "./support/report.ts"
import { alternate, settings } from "./support/rounds.ts"
import { serviceCore, startService } from "./support/service.ts"
import { median, pairedRatios } from "./support/stats.ts"
import { deliveryBody, postAll, postDelivery } from "./support/webhook.ts"

/** Users per round and days per user: each day one delivery of 288 readings. */
const USERS = Number(process.env.BENCH_WEBHOOK_USERS ?? 4)
const DAYS = Number(process.env.BENCH_WEBHOOK_DAYS ?? 30)
/** Deliveries in flight at once, as a relay pushing several users would. */
const CONCURRENCY = Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 4)
const BATCH = 288

const skipped = (note: string): ReadonlyArray<Row> => [
  {
    benchmark: "webhook, signed deliveries of 288, readings/s",
    figure: "—",
    baseline: "—",
    ratio: "—",
    target: "≥ 0.70×",
    verdict: "skip",
    note
  }
]

/** Readings per second of the deliveries of `work` through the webhook, and how many answers were not 202. */
const webhookRate = async (baseUrl: string, secret: string, work: ReadonlyArray<Workload>) => {
  const deliveries = work.flatMap((user) =>
    user.batches.map((batch) => ({ userId: user.userId, body: deliveryBody(batch) }))
  )
  const started = performance.now()
  const answers = await postAll(baseUrl, secret, deliveries, CONCURRENCY)
  const seconds = (performance.now() - started) / 1000
  const refused = answers.filter((answer) => answer.status !== 202)
  const notStored = answers.filter((answer) => answer.status === 202 && JSON.parse(answer.body).inserted !== BATCH)
  return { rate: readingsIn(work) / seconds, refused, notStored: notStored.length }
}

/** Readings per second of `Ingest.ingest` on the same batches, in this process, on a database kept across rounds. */
const makeInProcessIngest = (dataDir: string) => (work: ReadonlyArray<Workload>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const ingest = yield* Ingest
      const started = performance.now()
      for (const user of work) for (const batch of user.batches) yield* ingest.ingest(user.userId, batch)
      return readingsIn(work) / ((performance.now() - started) / 1000)
    }).pipe(Effect.provide(serviceCore(dataDir)), Effect.scoped)
  )

export const webhookBenchmark = async (): Promise<ReadonlyArray<Row>> => {
  const serviceDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-webhook-"))
  const ingestDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-webhook-ingest-"))
  const secret = randomBytes(32).toString("hex")
  let service: NodeProcess | undefined
  try {
    const started = await startService(serviceDir, { WEBHOOK_SECRET: secret })
    service = started.process
    const baseUrl = started.url

    const probe = deliveryBody(readingSeries(UserId.make("webhook-probe"), currentAnchorSeconds(), 1))
    const agent = new Agent({ keepAlive: false })
    const answer = await postDelivery(agent, new URL("/api/bg/webhook-probe/webhook", baseUrl), secret, probe)
    agent.destroy()
    if (answer.status === 404) return skipped("webhook not available (POST /api/bg/:userId/webhook answers 404)")
    if (answer.status !== 202) {
      return skipped(
        `the webhook refused a signed delivery of one reading: ${answer.status} ${answer.body.slice(0, 200)}`
      )
    }

    const ingestInProcess = makeInProcessIngest(ingestDir)
    // Every round pushes readings of users it alone uses, so that each delivery stores 288 new readings.
    const roundWork = (round: number | "warm-up") => workload(`webhook-${round}`, USERS, BATCH, DAYS)
    await webhookRate(baseUrl, secret, roundWork("warm-up"))
    await ingestInProcess(roundWork("warm-up"))
    const results = await alternate(
      settings.rounds,
      (round) => ingestInProcess(roundWork(round)),
      (round) => webhookRate(baseUrl, secret, roundWork(round))
    )
    const webhook = results.target.map((result) => result.rate)
    const refused = results.target.flatMap((result) => result.refused)
    const notStored = results.target.reduce((sum, result) => sum + result.notStored, 0)
    const ratio = median(pairedRatios(webhook, results.baseline))
    const quantity = rate("readings", median(results.baseline))
    const problems = [
      refused.length > 0
        ? `${refused.length} deliveries refused (first: ${refused[0]!.status} ${refused[0]!.body.slice(0, 120)})`
        : undefined,
      notStored > 0 ? `${notStored} deliveries answered 202 without inserting all 288 readings` : undefined
    ].filter((problem) => problem !== undefined)
    return [
      {
        benchmark: `webhook, signed deliveries of ${BATCH}, ${CONCURRENCY} at once, readings/s`,
        figure: spread(quantity, webhook),
        baseline: `${show(quantity, median(results.baseline))} (Ingest.ingest)`,
        ratio: formatRatio(ratio),
        target: "≥ 0.70×",
        verdict: problems.length > 0 ? "miss" : atLeast(ratio, 0.7),
        note: [`${(USERS * DAYS).toLocaleString("en-US")} deliveries per round`, ...problems].join("; ")
      }
    ]
  } finally {
    await service?.stop()
    rmSync(serviceDir, { recursive: true, force: true })
    rmSync(ingestDir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  await runBenchmarks("Webhook", [{ name: "webhook", run: webhookBenchmark }], { record: recordRequested() })
}
