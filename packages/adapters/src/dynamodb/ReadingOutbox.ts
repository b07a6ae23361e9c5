import { type AttributeValue, TransactWriteItemsCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import type { Reading, ReadingChange } from "@bg-ingest/domain"
import { Array as Arr, Effect, Ref } from "effect"
import { SecureRandom } from "effect/crypto"
import { errorName, isConditionFailure, toReadingStoreError } from "./DynamoErrors.ts"
import { mergedQuery } from "./MergedQuery.ts"
import {
  CorruptItem,
  type Item,
  keyOf,
  measurementEquals,
  type PlannedReading,
  pendingKind,
  plannable,
  readingOfItem,
  userIdOfItem
} from "./ReadingItems.ts"
import {
  GROUP_SIZE,
  GROUPS_IN_FLIGHT,
  noteSetAside,
  type ReadingTable,
  roundsOf,
  TRANSACTION_THRESHOLD
} from "./ReadingTable.ts"
import { Attr, Index, pendingShards } from "./TableLayout.ts"

/**
 * The outbox kept on the reading items: `unpublished` finds the readings that owe an event through the sparse
 * `pending_events` index; `markPublished` clears what the broker confirmed.
 */
export const makeReadingOutbox = (readingTable: ReadingTable) => {
  const { dynamo, table, transactionsSupported, singleWrites, decode, query } = readingTable

  /** Clears the owed event, only while the stored measurement is the published one. */
  const confirmation = (planned: PlannedReading) => {
    const stored = measurementEquals(planned.reading, "p")
    return {
      TableName: table,
      Key: keyOf(planned.pk, planned.sk),
      UpdateExpression: `SET ${Attr.published} = :true REMOVE ${Attr.pendingShard}, ${Attr.pendingSince}`,
      ConditionExpression: `attribute_exists(${Attr.pendingShard}) AND ${stored.expression}`,
      ExpressionAttributeNames: stored.names,
      ExpressionAttributeValues: { ...stored.values, ":true": { BOOL: true } }
    }
  }

  const confirmOne = (planned: PlannedReading) =>
    dynamo
      .call("UpdateItem", (sdk) => sdk.send(new UpdateItemCommand(confirmation(planned))))
      .pipe(
        Effect.asVoid,
        Effect.catchIf(
          (failure) => isConditionFailure(failure.cause),
          () => Effect.void
        )
      )

  const confirmOneByOne = (group: ReadonlyArray<PlannedReading>) =>
    Effect.forEach(group, (planned) => singleWrites.withPermits(1)(confirmOne(planned)), {
      concurrency: "unbounded",
      discard: true
    })

  const confirmGroup = Effect.fnUntraced(function* (group: ReadonlyArray<PlannedReading>) {
    if (group.length < TRANSACTION_THRESHOLD || !(yield* Ref.get(transactionsSupported))) {
      return yield* confirmOneByOne(group)
    }
    yield* dynamo
      .call("TransactWriteItems", (sdk) =>
        sdk.send(
          new TransactWriteItemsCommand({
            TransactItems: group.map((planned) => ({ Update: confirmation(planned) })),
            ClientRequestToken: SecureRandom.uuidV4Unsafe()
          })
        )
      )
      .pipe(
        Effect.asVoid,
        Effect.catchIf(
          (failure) => errorName(failure.cause) === "UnknownOperationException",
          () => Effect.andThen(Ref.set(transactionsSupported, false), confirmOneByOne(group))
        ),
        // One reading already confirmed or changed cancels them all: confirm the group one by one.
        Effect.catchIf(
          (failure) => errorName(failure.cause).startsWith("Transaction"),
          () => confirmOneByOne(group)
        )
      )
  })

  const markPublished = Effect.fn("DynamoReadingStore.markPublished")(
    function* (readings: ReadonlyArray<Reading>) {
      // A reading without a key the table can hold has no item to confirm (its event was set aside).
      const planned = yield* decode("markPublished", () => readings.flatMap(plannable))
      for (const round of roundsOf(planned, (p) => p.id)) {
        yield* Effect.forEach(Arr.chunksOf(round, GROUP_SIZE), confirmGroup, {
          concurrency: GROUPS_IN_FLIGHT,
          discard: true
        })
      }
    },
    Effect.mapError(toReadingStoreError("markPublished"))
  )
  const setAsideOwed = (item: Item) => {
    const pk = item[Attr.pk]?.S
    const sk = item[Attr.sk]?.S
    if (pk === undefined || sk === undefined) return Effect.void
    return dynamo.call("UpdateItem", (sdk) =>
      sdk.send(
        new UpdateItemCommand({
          TableName: table,
          Key: keyOf(pk, sk),
          UpdateExpression: `SET ${Attr.setAside} = :true REMOVE ${Attr.pendingShard}, ${Attr.pendingSince}`,
          ExpressionAttributeValues: { ":true": { BOOL: true } }
        })
      )
    )
  }

  /** Oldest owed events first, merged across the shards of the sparse `pending_events` index. */
  const unpublished = Effect.fn("DynamoReadingStore.unpublished")(
    function* (limit: number) {
      if (limit <= 0) return []
      const pageSize = Math.min(1000, Math.max(10, Math.ceil((2 * limit) / pendingShards.length)))
      const merged = mergedQuery(
        pendingShards.map(
          (shard) => (start: Record<string, AttributeValue> | undefined) =>
            Effect.map(
              query({
                IndexName: Index.pendingEvents,
                KeyConditionExpression: `${Attr.pendingShard} = :shard`,
                ExpressionAttributeValues: { ":shard": { S: shard } },
                Limit: pageSize,
                ...(start === undefined ? {} : { ExclusiveStartKey: start })
              }),
              (output) => ({ items: output.Items ?? [], next: output.LastEvaluatedKey })
            )
        ),
        (item) => Number(item[Attr.pendingSince]?.N)
      )
      const items = yield* merged.take(limit)
      const owed: Array<ReadingChange> = []
      const corrupt: Array<Item> = []
      yield* decode("Query", () => {
        for (const item of items) {
          let reading: Reading | undefined
          try {
            reading = readingOfItem(item, userIdOfItem(item))
          } catch (error) {
            if (!(error instanceof CorruptItem)) throw error
          }
          if (reading === undefined) corrupt.push(item)
          else owed.push({ kind: pendingKind(item[Attr.published]?.BOOL === true), reading })
        }
      })
      // An owed event whose item cannot be read would come back first in every sweep: it leaves the outbox.
      yield* Effect.forEach(corrupt, setAsideOwed, { concurrency: GROUPS_IN_FLIGHT, discard: true })
      yield* noteSetAside("unpublished", corrupt.length)
      return owed
    },
    Effect.mapError(toReadingStoreError("unpublished"))
  )

  return { markPublished, unpublished }
}
