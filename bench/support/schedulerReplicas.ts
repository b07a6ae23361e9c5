/**
 * The scheduler with several replicas sharing one store: `connections` simulator connections, each caught up to
 * 15 minutes ago and due now, in one DynamoDB table (dynalite on a worker thread of this process, behind a counting
 * proxy); `replicas` processes (bench/support/schedulerReplica.ts, the runner's own layers) run scheduler cycles
 * at once until nothing is due. Figures: wall time until the last replica is done, CPU of every replica, how the
 * connections were shared, and DynamoDB requests and items per sync.
 */

import { fork } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { BatchWriteItemCommand, type WriteRequest } from "@aws-sdk/client-dynamodb"
import { makeDynamoDbClientWithTable } from "@bg-ingest/adapters/dynamodb"
import { newConnection, ProviderId, UserId } from "@bg-ingest/domain"
import { DateTime, Effect } from "effect"
import { connectionItem } from "../../packages/adapters/src/dynamodb/ConnectionItems.ts"
import { type DynamoCounts, startDynamoCounter } from "../../test/support/dynamoCounter.ts"
import { startDynalite } from "../../test/support/dynamodb.ts"
import { REPOSITORY, SOURCE_CONDITION } from "./processes.ts"

export interface ReplicaFigures {
  readonly claimed: number
  readonly succeeded: number
  readonly cycles: number
  readonly wallMs: number
  readonly cpuMs: number
  readonly peakRss: number
}

export interface ReplicasRun {
  readonly connections: number
  readonly replicas: ReadonlyArray<ReplicaFigures>
  /** From `go` to the last replica's figures. */
  readonly wallMs: number
  readonly prefillMs: number
  readonly dynamo: DynamoCounts
}

const TABLE = "bg_bench_scheduler"

/** `connections` simulator connections caught up to 15 minutes ago, due within the last minute. */
const prefill = async (endpoint: string, connections: number) => {
  await Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* makeDynamoDbClientWithTable({ endpoint, table: TABLE, ensureTable: "create-if-missing" })
      const now = Date.now()
      const caughtUp = DateTime.makeUnsafe(now - 15 * 60_000)
      const requests: Array<WriteRequest> = []
      for (let index = 0; index < connections; index++) {
        const connection = {
          ...newConnection({
            userId: UserId.make(`scheduler-user-${index}`),
            provider: ProviderId.make("simulator"),
            backfillFrom: DateTime.makeUnsafe(now - 90 * 86_400_000),
            credentials: null,
            now: DateTime.makeUnsafe(now - 90 * 86_400_000)
          }),
          syncedThrough: caughtUp,
          lastSyncAt: caughtUp,
          lastReadingAt: DateTime.makeUnsafe(now - 16 * 60_000),
          nextPollAt: DateTime.makeUnsafe(now - 1000 - (index % 60) * 1000),
          updatedAt: caughtUp
        }
        requests.push({ PutRequest: { Item: connectionItem(connection) } })
      }
      const chunks: Array<Array<WriteRequest>> = []
      for (let start = 0; start < requests.length; start += 25) chunks.push(requests.slice(start, start + 25))
      yield* Effect.forEach(
        chunks,
        (chunk) =>
          Effect.promise(async () => {
            let pending = chunk
            while (pending.length > 0) {
              const output = await client.sdk.send(new BatchWriteItemCommand({ RequestItems: { [TABLE]: pending } }))
              pending = (output.UnprocessedItems?.[TABLE] ?? []) as Array<WriteRequest>
            }
          }),
        { concurrency: 8, discard: true }
      )
    }).pipe(Effect.scoped)
  )
}

export const runReplicas = async (connections: number, replicas: number): Promise<ReplicasRun> => {
  const dynalite = await startDynalite()
  const counter = await startDynamoCounter(dynalite.endpoint)
  const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-replicas-"))
  const children: Array<ReturnType<typeof fork>> = []
  try {
    const prefillStarted = performance.now()
    await prefill(dynalite.endpoint, connections)
    const prefillMs = performance.now() - prefillStarted
    const results: Array<Promise<ReplicaFigures>> = []
    const ready: Array<Promise<void>> = []
    for (let index = 0; index < replicas; index++) {
      const child = fork(
        join(REPOSITORY, "bench/support/schedulerReplica.ts"),
        [join(dataDir, `r${index}`), counter.endpoint, TABLE],
        { cwd: REPOSITORY, execArgv: [SOURCE_CONDITION], stdio: ["ignore", "ignore", "inherit", "ipc"] }
      )
      children.push(child)
      let readyResolve: () => void = () => {}
      ready.push(new Promise((resolve) => (readyResolve = resolve)))
      results.push(
        new Promise((resolve, reject) => {
          child.on("message", (message: any) => {
            if (message?.ready === true) readyResolve()
            else resolve(message as ReplicaFigures)
          })
          child.once("exit", (code) => reject(new Error(`replica ${index} exited with ${code}`)))
        })
      )
    }
    await Promise.all(ready)
    counter.take()
    const started = performance.now()
    for (const child of children) child.send("go")
    const figures = await Promise.all(results)
    const wallMs = performance.now() - started
    return { connections, replicas: figures, wallMs, prefillMs, dynamo: counter.take() }
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill("SIGKILL")
    await counter.close()
    await dynalite.stop()
    rmSync(dataDir, { recursive: true, force: true })
  }
}

/** `node bench/support/schedulerReplicas.ts <connections> <replicas>`: one run, its figures as JSON. */
if (import.meta.main) {
  const [connections, replicas] = process.argv.slice(2).map(Number)
  const run = await runReplicas(connections ?? 1000, replicas ?? 3)
  process.stdout.write(`${JSON.stringify(run)}\n`)
  process.exit(0)
}
