import { QueryCommand, type QueryCommandInput, type QueryCommandOutput } from "@aws-sdk/client-dynamodb"
import { countSetAside } from "@bg-ingest/domain"
import { Effect, Option, Ref, Semaphore } from "effect"
import { DynamoDbClient, type DynamoDbClientShape } from "./DynamoDbClient.ts"
import { DynamoFailure } from "./DynamoErrors.ts"

/** Keys per group: one BatchGetItem (at most 100 keys) and at most one TransactWriteItems (at most 100 actions). */
export const GROUP_SIZE = 100
/** Groups of one call stored at once. */
export const GROUPS_IN_FLIGHT = 4
/**
 * Below this many writes a call uses single conditional writes (1 write unit each); from it on, transactions
 * (2 units each, but 100 items per request), which is what makes a backfill fast.
 */
export const TRANSACTION_THRESHOLD = 25

/** Splits a batch into rounds with distinct keys, in order: a later reading for the same instant wins. */
export const roundsOf = <A>(items: ReadonlyArray<A>, idOfItem: (item: A) => string): Array<Array<A>> => {
  const rounds: Array<Array<A>> = []
  const seen = new Map<string, number>()
  for (const item of items) {
    const id = idOfItem(item)
    const round = seen.get(id) ?? 0
    seen.set(id, round + 1)
    const members = rounds[round] ?? []
    if (members.length === 0) rounds[round] = members
    members.push(item)
  }
  return rounds
}

/** What the reading store's writes, outbox and queries share: one client, one table, one write discipline. */
export interface ReadingTable {
  readonly dynamo: DynamoDbClientShape
  readonly table: string
  readonly ttlDays: number | null
  /** dynalite has no transactions; the first refusal switches the store to single conditional writes for good. */
  readonly transactionsSupported: Ref.Ref<boolean>
  /** Single-item writes in flight across every group of a call, at most the client's `writeConcurrency`. */
  readonly singleWrites: Semaphore.Semaphore
  readonly failed: (command: string, cause: unknown) => DynamoFailure
  /** Runs code that reads items, turning a `CorruptItem` (or any throw) into a failure of `command`. */
  readonly decode: <A>(command: string, body: () => A) => Effect.Effect<A, DynamoFailure>
  readonly query: (input: Omit<QueryCommandInput, "TableName">) => Effect.Effect<QueryCommandOutput, DynamoFailure>
}

export const makeReadingTable = Effect.gen(function* () {
  const dynamo = yield* DynamoDbClient
  const { table, tuning } = dynamo
  const failed = (command: string, cause: unknown) =>
    new DynamoFailure({ command, cause, endpoint: dynamo.endpoint, table })
  return {
    dynamo,
    table,
    ttlDays: Option.getOrNull(dynamo.readingTtlDays),
    transactionsSupported: yield* Ref.make(true),
    singleWrites: yield* Semaphore.make(tuning.writeConcurrency),
    failed,
    decode: dynamo.decode,
    query: (input: Omit<QueryCommandInput, "TableName">) =>
      dynamo.call("Query", (sdk) => sdk.send(new QueryCommand({ TableName: table, ...input })))
  } satisfies ReadingTable
})

/** Items that cannot be read as readings are skipped by reads and the sweep, counted and logged, never a failed call. */
export const noteSetAside = (where: string, count: number) =>
  count === 0
    ? Effect.void
    : countSetAside("stored_item", where, count).pipe(
        Effect.andThen(
          Effect.logWarning("Stored items that cannot be read as readings were set aside", { where, count })
        )
      )
