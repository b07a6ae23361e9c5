/**
 * Readings per second stored through `Ingest.ingest` into SQLite (the runner's own layers: the SQLite store, the
 * in-process event publisher; so one upsert, one event and one confirmation per reading) next to a bare prepared
 * `INSERT` into the same table, one transaction per batch, with the same rows, batches and pragmas. Each round
 * starts from an empty database; rounds alternate.
 *
 *   node --conditions=@bg-ingest/source bench/ingest.ts [--record]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { INGEST_PIECE, Ingest, type Reading, UserId } from "@bg-ingest/domain"
import { Effect } from "effect"
import { makeAdapterSqlWriter } from "./support/adapterSql.ts"
import {
  batches,
  currentAnchorSeconds,
  INSERT_READING_SQL,
  insertReadings,
  NINETY_DAYS_OF_READINGS,
  openBareDatabase,
  readingSeries
} from "./support/dataset.ts"
import { recordRequested, runBenchmarks } from "./support/main.ts"
import { atLeast, formatRatio, type Row, rate, show, spread } from "./support/report.ts"
import { alternate, settings } from "./support/rounds.ts"
import { serviceCore } from "./support/service.ts"
import { median, pairedRatios } from "./support/stats.ts"

/** Users per round, each with 90 days (25,920 readings). */
const USERS = Number(process.env.BENCH_INGEST_USERS ?? 2)

export interface Workload {
  readonly userId: UserId
  readonly batches: ReadonlyArray<ReadonlyArray<Reading>>
}

/** `users` users' 90 days in batches of `batchSize`, named with `prefix`. */
export const workload = (prefix: string, users: number, batchSize: number, days = 90): ReadonlyArray<Workload> => {
  const anchor = currentAnchorSeconds()
  return Array.from({ length: users }, (_, index) => {
    const userId = UserId.make(`${prefix}-${index + 1}`)
    return { userId, batches: batches(readingSeries(userId, anchor, (days * NINETY_DAYS_OF_READINGS) / 90), batchSize) }
  })
}

export const readingsIn = (work: ReadonlyArray<Workload>) =>
  work.reduce((sum, user) => sum + user.batches.reduce((total, batch) => total + batch.length, 0), 0)

const scratch = <A>(body: (dataDir: string) => Promise<A>): Promise<A> => {
  const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-ingest-"))
  return body(dataDir).finally(() => rmSync(dataDir, { recursive: true, force: true }))
}

/** Readings per second of bare prepared INSERTs, one transaction per batch, into a fresh database. */
export const bareInsertRate = (work: ReadonlyArray<Workload>) =>
  scratch(async (dataDir) => {
    const db = openBareDatabase(join(dataDir, "bg-ingest.db"))
    try {
      const insert = db.prepare(INSERT_READING_SQL)
      const started = performance.now()
      for (const user of work) for (const batch of user.batches) insertReadings(db, insert, batch)
      return readingsIn(work) / ((performance.now() - started) / 1000)
    } finally {
      db.close()
    }
  })

/** Readings per second of the adapter's own SQL for the same batches, in a bare loop: the design's floor. */
export const adapterSqlRate = (work: ReadonlyArray<Workload>) =>
  scratch(async (dataDir) => {
    const db = openBareDatabase(join(dataDir, "bg-ingest.db"))
    try {
      const write = makeAdapterSqlWriter(db)
      const started = performance.now()
      for (const user of work) for (const batch of user.batches) write(batch)
      return readingsIn(work) / ((performance.now() - started) / 1000)
    } finally {
      db.close()
    }
  })

/** Readings per second of `Ingest.ingest`, one call per batch, on the service's layers over a fresh database. */
export const ingestRate = (work: ReadonlyArray<Workload>) =>
  scratch((dataDir) =>
    Effect.runPromise(
      Effect.gen(function* () {
        const ingest = yield* Ingest
        const started = performance.now()
        for (const user of work) for (const batch of user.batches) yield* ingest.ingest(user.userId, batch)
        return readingsIn(work) / ((performance.now() - started) / 1000)
      }).pipe(Effect.provide(serviceCore(dataDir)), Effect.scoped)
    )
  )

const measure = async (batchSize: number): Promise<ReadonlyArray<Row>> => {
  const work = workload("ingest-user", USERS, batchSize)
  const baselines = async () => ({ insert: await bareInsertRate(work), adapterSql: await adapterSqlRate(work) })
  await Promise.all([baselines(), ingestRate(work)])
  const results = await alternate(settings.rounds, baselines, () => ingestRate(work))
  const insert = results.baseline.map((result) => result.insert)
  const adapterSql = results.baseline.map((result) => result.adapterSql)
  const ratio = median(pairedRatios(results.target, insert))
  const floorRatio = median(pairedRatios(results.target, adapterSql))
  const quantity = rate("readings", median(insert))
  const name = `Ingest.ingest, batches of ${batchSize.toLocaleString("en-US")}, readings/s`
  return [
    {
      benchmark: name,
      figure: spread(quantity, results.target),
      baseline: `${show(quantity, median(insert))} (bare INSERT)`,
      ratio: formatRatio(ratio),
      target: "≥ 0.50×",
      verdict: atLeast(ratio, 0.5),
      note: `${readingsIn(work).toLocaleString("en-US")} readings per round, one transaction per batch, fresh database each round`
    },
    {
      benchmark: `${name}, next to the adapter's SQL alone`,
      figure: spread(quantity, results.target),
      baseline: `${show(quantity, median(adapterSql))} (upsert + confirm)`,
      ratio: formatRatio(floorRatio),
      target: "≥ 0.80×",
      verdict: atLeast(floorRatio, 0.8),
      note: `the SQLite adapter's statements in a bare loop, in Ingest's pieces of ${INGEST_PIECE.toLocaleString("en-US")} (upsert … RETURNING, then the outbox confirmation, two transactions per piece) run at ${formatRatio(median(pairedRatios(adapterSql, insert)))} of bare INSERT: the storage design's ceiling for Ingest`
    }
  ]
}

export const ingestBenchmark = async (): Promise<ReadonlyArray<Row>> => [
  ...(await measure(288)),
  ...(await measure(8640))
]

if (import.meta.main) {
  await runBenchmarks("Ingest into SQLite", [{ name: "ingest", run: ingestBenchmark }], { record: recordRequested() })
}
