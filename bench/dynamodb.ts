/**
 * DynamoDB adapter benchmark (not a test): the adapter next to the bare SDK on the same server, same run.
 *
 *   node --conditions=@bg-ingest/source bench/dynamodb.ts [dynalite|dynamodb-local|<endpoint>] [readings]
 *
 * Figures: readings/s through `putMany` (conditional writes: transactions where the server has them, one
 * conditional put per reading where it does not) against a bare SDK loop making the same conditional writes in the
 * same shape (groups, reads, concurrency: `bareConditionalWrite`); and a
 * 90-day `range` against a bare paginated `Query` of the same keys. Default: both local servers, 25,920 readings.
 */
import { fork } from "node:child_process"
import { randomUUID } from "node:crypto"
import {
  type AttributeValue,
  BatchGetItemCommand,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  TransactWriteItemsCommand
} from "@aws-sdk/client-dynamodb"
import { DynamoDbClient, DynamoReadingStore, TableSetup } from "@bg-ingest/adapters/dynamodb"
import { makeReading, makeWindow, ProviderId, type Reading, ReadingStore, UserId } from "@bg-ingest/domain"
import { DateTime, Effect, Layer } from "effect"
import {
  keyOf,
  newReadingItem,
  plan,
  readingProjection,
  readingSkAt,
  stateProjection
} from "../packages/adapters/src/dynamodb/ReadingItems.ts"
import { GROUP_SIZE, GROUPS_IN_FLIGHT } from "../packages/adapters/src/dynamodb/ReadingTable.ts"

interface Server {
  readonly name: string
  readonly endpoint: string
  readonly stop: () => Promise<void>
}

async function startDynalite(): Promise<Server> {
  const child = fork(new URL(import.meta.url).pathname, ["--serve-dynalite"], {
    execArgv: ["--conditions=@bg-ingest/source"]
  })
  const port = await new Promise<number>((resolve) => child.once("message", (message) => resolve(Number(message))))
  return {
    name: "dynalite",
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill()
    }
  }
}

async function startLocal(): Promise<Server | string> {
  const { startDynamoDbLocal } = await import("../test/support/dynamodb.ts")
  const server = await startDynamoDbLocal()
  return server.available ? { name: "DynamoDB Local", endpoint: server.endpoint, stop: server.stop } : server.reason
}

const T0 = DateTime.makeUnsafe("2026-01-01T00:00:00Z")

const readingsOf = (userId: string, count: number): Array<Reading> =>
  Array.from({ length: count }, (_, index) =>
    makeReading({
      userId: UserId.make(userId),
      timestamp: DateTime.add(T0, { minutes: index * 5 }),
      glucoseMgDl: 70 + ((index * 7) % 250),
      trend: "flat",
      trendRate: 0.4,
      status: "ok",
      source: { provider: ProviderId.make("dexcom"), recordId: `rec-${index}` },
      displayTime: null
    })
  )

const seconds = async <A>(body: () => Promise<A>): Promise<[number, A]> => {
  const started = performance.now()
  const result = await body()
  return [(performance.now() - started) / 1000, result]
}

/** At most `limit` of `tasks` running at once. */
const inParallel = async (tasks: ReadonlyArray<() => Promise<unknown>>, limit: number) => {
  let next = 0
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]!()
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
}

/** Whether the server runs TransactWriteItems (DynamoDB Local does, dynalite does not). */
async function hasTransactions(sdk: DynamoDBClient, table: string) {
  const item = newReadingItem(plan(readingsOf("probe-transactions", 1)[0]!), Date.now(), "bench", null)
  try {
    await sdk.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: table, Item: item } }] }))
    return true
  } catch (error) {
    if ((error as { readonly name?: string }).name === "UnknownOperationException") return false
    throw error
  }
}

/**
 * The baseline writer: the same conditional writes as the adapter's for new readings, made with the bare SDK
 * in the same shape — groups of 100, the first read first (BatchGetItem of its keys: nothing is there, so the
 * others are not read), 4 groups in flight; each group one TransactWriteItems of puts conditional on the item
 * being absent where the server has transactions, else one conditional PutItem per reading, 32 at once.
 */
async function bareConditionalWrite(
  sdk: DynamoDBClient,
  table: string,
  readings: ReadonlyArray<Reading>,
  transactions: boolean
) {
  const now = Date.now()
  const planned = readings.map(plan)
  const condition = "attribute_not_exists(pk)"
  let single = 0
  const waiting: Array<() => void> = []
  const put = async (item: Record<string, AttributeValue>) => {
    while (single >= 32) await new Promise<void>((resolve) => waiting.push(resolve))
    single += 1
    try {
      await sdk.send(new PutItemCommand({ TableName: table, Item: item, ConditionExpression: condition }))
    } finally {
      single -= 1
      waiting.shift()?.()
    }
  }
  const write = async (group: typeof planned) => {
    const items = group.map((reading) => newReadingItem(reading, now, "bench", null))
    if (transactions) {
      await sdk.send(
        new TransactWriteItemsCommand({
          TransactItems: items.map((Item) => ({ Put: { TableName: table, Item, ConditionExpression: condition } })),
          ClientRequestToken: randomUUID()
        })
      )
    } else await Promise.all(items.map(put))
  }
  const groups = Array.from({ length: Math.ceil(planned.length / GROUP_SIZE) }, (_, index) =>
    planned.slice(index * GROUP_SIZE, (index + 1) * GROUP_SIZE)
  )
  const [first = [], ...rest] = groups
  const read = await sdk.send(
    new BatchGetItemCommand({
      RequestItems: {
        [table]: {
          Keys: first.map((reading) => keyOf(reading.pk, reading.sk)),
          ConsistentRead: true,
          ProjectionExpression: stateProjection.expression,
          ...(stateProjection.names === undefined ? {} : { ExpressionAttributeNames: stateProjection.names })
        }
      }
    })
  )
  if ((read.Responses?.[table]?.length ?? 0) > 0) throw new Error("the baseline's readings were already stored")
  await write(first)
  await inParallel(
    rest.map((group) => () => write(group)),
    GROUPS_IN_FLIGHT
  )
}

/** The baseline reader: the same query the adapter makes, paginated, items left as the SDK gives them. */
async function bareQuery(sdk: DynamoDBClient, table: string, userId: string, count: number) {
  let items = 0
  let start: Record<string, AttributeValue> | undefined
  do {
    const output = await sdk.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND sk BETWEEN :from AND :to",
        ExpressionAttributeValues: {
          ":pk": { S: `USER#${userId}` },
          ":from": { S: readingSkAt(Math.floor(DateTime.toEpochMillis(T0) / 1000)) },
          ":to": { S: readingSkAt(Math.floor(DateTime.toEpochMillis(T0) / 1000) + count * 300) }
        },
        ProjectionExpression: readingProjection.expression,
        ExpressionAttributeNames: readingProjection.names,
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start })
      })
    )
    items += output.Items?.length ?? 0
    start = output.LastEvaluatedKey
  } while (start !== undefined)
  return items
}

interface Row {
  readonly figure: string
  readonly adapter: number
  readonly baseline: number
  readonly unit: string
}

async function measure(server: Server, count: number): Promise<Array<Row>> {
  const layer = DynamoReadingStore.layer.pipe(
    Layer.provideMerge(
      TableSetup.layerWithClient({
        endpoint: server.endpoint,
        table: `bench_${randomUUID().slice(0, 8)}`,
        ensureTable: "create-if-missing"
      })
    )
  )
  return Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* ReadingStore
      const { sdk, table } = yield* DynamoDbClient
      const run = <A>(body: () => Promise<A>) => Effect.promise(() => seconds(body))
      const put = (userId: string) =>
        Effect.promise(() => seconds(() => Effect.runPromise(store.putMany(readingsOf(userId, count)))))

      // Warm both paths (JIT, connections) on a small batch first.
      const transactions = yield* Effect.promise(() => hasTransactions(sdk, table))
      yield* put("warm-adapter").pipe(
        Effect.andThen(run(() => bareConditionalWrite(sdk, table, readingsOf("warm-bare", 500), transactions)))
      )
      const [adapterPut, result] = yield* put("adapter")
      if (result.inserted !== count) throw new Error(`putMany inserted ${result.inserted} of ${count}`)
      const [barePut] = yield* run(() => bareConditionalWrite(sdk, table, readingsOf("bare", count), transactions))

      const window = makeWindow(T0, DateTime.add(T0, { minutes: count * 5 }))
      const ranges: Array<number> = []
      const queries: Array<number> = []
      for (let round = 0; round < 3; round++) {
        const [adapterRange, readings] = yield* run(() =>
          Effect.runPromise(store.range(UserId.make("adapter"), window, 50_000))
        )
        if (readings.length !== count) throw new Error(`range gave ${readings.length} of ${count}`)
        const [bareRange, items] = yield* run(() => bareQuery(sdk, table, "adapter", count))
        if (items !== count) throw new Error(`bare query gave ${items} of ${count}`)
        ranges.push(adapterRange)
        queries.push(bareRange)
      }
      const best = (values: Array<number>) => Math.min(...values)
      return [
        {
          figure: `putMany, ${count} new readings`,
          adapter: count / adapterPut,
          baseline: count / barePut,
          unit: "readings/s"
        },
        {
          figure: `range of ${count} readings (best of 3)`,
          adapter: count / best(ranges),
          baseline: count / best(queries),
          unit: "readings/s"
        }
      ]
    }).pipe(Effect.provide(layer))
  )
}

async function main() {
  const which = process.argv[2] ?? "all"
  const count = Number(process.argv[3] ?? 25_920)
  const servers: Array<() => Promise<Server | string>> = []
  if (which === "all" || which === "dynalite") servers.push(startDynalite)
  if (which === "all" || which === "dynamodb-local") servers.push(startLocal)
  if (which.startsWith("http")) {
    servers.push(async () => ({ name: which, endpoint: which, stop: async () => undefined }))
  }
  const lines = ["| server | figure | adapter | baseline (bare SDK) | ratio |", "| --- | --- | --- | --- | --- |"]
  for (const start of servers) {
    const server = await start()
    if (typeof server === "string") {
      lines.push(`| DynamoDB Local | skipped: ${server} | | | |`)
      continue
    }
    try {
      for (const row of await measure(server, count)) {
        lines.push(
          `| ${server.name} | ${row.figure} | ${Math.round(row.adapter)} ${row.unit} | ${Math.round(row.baseline)} ${row.unit} | ${(row.adapter / row.baseline).toFixed(2)}× |`
        )
      }
    } finally {
      await server.stop()
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`)
}

if (process.argv[2] === "--serve-dynalite") {
  // The server side of the dynalite run, in its own process like a real server.
  const { default: dynalite } = await import("dynalite")
  const server = dynalite({ createTableMs: 0 })
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    process.send?.(typeof address === "object" && address !== null ? address.port : 0)
  })
} else {
  await main()
}
