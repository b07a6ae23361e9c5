import { type AttributeValue, TransactWriteItemsCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import type { Reading, ReadingChange } from "@bg-ingest/domain"
import { Array as Arr, DateTime, Duration, Effect, Ref } from "effect"
import { SecureRandom } from "effect/crypto"
import { errorName, isConditionFailure, toReadingStoreError, whenConditionFails } from "./DynamoErrors.ts"
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
      UpdateExpression: `SET ${Attr.published} = :true REMOVE ${Attr.pendingShard}, ${Attr.pendingSince}, ${Attr.publishClaimant}`,
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

  /**
   * Oldest owed events first, merged across the shards of the sparse `pending_events` index; with `cutoff`, only
   * those whose publication started (their write, or a sweep's claim) no later than it.
   */
  const owedItems = (limit: number, cutoff: number | undefined) => {
    const pageSize = Math.min(1000, Math.max(10, Math.ceil((2 * limit) / pendingShards.length)))
    return mergedQuery(
      pendingShards.map(
        (shard) => (start: Record<string, AttributeValue> | undefined) =>
          Effect.map(
            query({
              IndexName: Index.pendingEvents,
              KeyConditionExpression:
                cutoff === undefined
                  ? `${Attr.pendingShard} = :shard`
                  : `${Attr.pendingShard} = :shard AND ${Attr.pendingSince} <= :cutoff`,
              ExpressionAttributeValues: {
                ":shard": { S: shard },
                ...(cutoff === undefined ? {} : { ":cutoff": { N: String(cutoff) } })
              },
              Limit: pageSize,
              ...(start === undefined ? {} : { ExclusiveStartKey: start })
            }),
            (output) => ({ items: output.Items ?? [], next: output.LastEvaluatedKey })
          )
      ),
      (item) => Number(item[Attr.pendingSince]?.N)
    ).take(limit)
  }

  /** The owed events of `items`; an item that cannot be read leaves the outbox (it would come back first every time). */
  const owedOf = Effect.fnUntraced(function* (items: ReadonlyArray<Item>) {
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
    yield* Effect.forEach(corrupt, setAsideOwed, { concurrency: GROUPS_IN_FLIGHT, discard: true })
    yield* noteSetAside("unpublished", corrupt.length)
    return owed
  })

  const unpublished = Effect.fn("DynamoReadingStore.unpublished")(
    function* (limit: number) {
      if (limit <= 0) return []
      return yield* owedOf(yield* owedItems(limit, undefined))
    },
    Effect.mapError(toReadingStoreError("unpublished"))
  )

  /**
   * Claims one owed event for a sweep: conditional on the publication start that was read, so of replicas racing
   * for it one wins, and a writer that changed the reading meanwhile (and publishes it) keeps it. A claim the SDK
   * sent again after its answer was lost finds its own claim and keeps it.
   */
  const claimOne = (item: Item, now: number, claimant: string) => {
    const pk = item[Attr.pk]?.S
    const sk = item[Attr.sk]?.S
    const seen = item[Attr.pendingSince]?.N
    if (pk === undefined || sk === undefined || seen === undefined) return Effect.succeed(true)
    return dynamo
      .call("UpdateItem", (sdk) =>
        sdk.send(
          new UpdateItemCommand({
            TableName: table,
            Key: keyOf(pk, sk),
            UpdateExpression: `SET ${Attr.pendingSince} = :now, ${Attr.publishClaimant} = :claimant`,
            ConditionExpression: `attribute_exists(${Attr.pendingShard}) AND (${Attr.pendingSince} = :seen OR (${Attr.pendingSince} = :now AND ${Attr.publishClaimant} = :claimant))`,
            ExpressionAttributeValues: {
              ":now": { N: String(now) },
              ":seen": { N: seen },
              ":claimant": { S: claimant }
            }
          })
        )
      )
      .pipe(Effect.as(true), whenConditionFails(false))
  }

  const claimUnpublished = Effect.fn("DynamoReadingStore.claimUnpublished")(
    function* ({ limit, now, claim }: { limit: number; now: DateTime.Utc; claim: Duration.Duration }) {
      if (limit <= 0) return []
      const at = DateTime.toEpochMillis(now)
      const items = yield* owedItems(limit, at - Duration.toMillis(claim))
      const claimant = SecureRandom.uuidV4Unsafe()
      const won = yield* Effect.forEach(items, (item) => claimOne(item, at, claimant), {
        concurrency: GROUPS_IN_FLIGHT
      })
      return yield* owedOf(items.filter((_, index) => won[index]))
    },
    Effect.mapError(toReadingStoreError("claimUnpublished"))
  )

  /** Frees the owed events of a failed publication for the next sweep: their start goes back to the earliest. */
  const releaseOne = (planned: PlannedReading) => {
    const stored = measurementEquals(planned.reading, "p")
    return dynamo
      .call("UpdateItem", (sdk) =>
        sdk.send(
          new UpdateItemCommand({
            TableName: table,
            Key: keyOf(planned.pk, planned.sk),
            UpdateExpression: `SET ${Attr.pendingSince} = :zero`,
            ConditionExpression: `attribute_exists(${Attr.pendingShard}) AND ${stored.expression}`,
            ExpressionAttributeNames: stored.names,
            ExpressionAttributeValues: { ...stored.values, ":zero": { N: String(Number.MIN_SAFE_INTEGER) } }
          })
        )
      )
      .pipe(Effect.asVoid, whenConditionFails(undefined))
  }

  const releaseUnpublished = Effect.fn("DynamoReadingStore.releaseUnpublished")(
    function* (readings: ReadonlyArray<Reading>) {
      const planned = yield* decode("releaseUnpublished", () => readings.flatMap(plannable))
      yield* Effect.forEach(planned, (one) => singleWrites.withPermits(1)(releaseOne(one)), {
        concurrency: GROUPS_IN_FLIGHT,
        discard: true
      })
    },
    Effect.mapError(toReadingStoreError("releaseUnpublished"))
  )

  return { markPublished, unpublished, claimUnpublished, releaseUnpublished }
}
