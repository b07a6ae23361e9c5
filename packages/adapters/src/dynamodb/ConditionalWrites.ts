import {
  GetItemCommand,
  PutItemCommand,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import type { Reading, ReadingChange } from "@bg-ingest/domain"
import { Effect, Ref } from "effect"
import { SecureRandom } from "effect/crypto"
import { type DynamoFailure, errorName, isConditionFailure } from "./DynamoErrors.ts"
import {
  absentOrDifferent,
  type Expression,
  type Item,
  keyOf,
  measurementEquals,
  newReadingItem,
  type PlannedReading,
  pendingKind,
  type StoredState,
  sameStoredMeasurement,
  stateOf,
  stateProjection,
  storeReadingUpdate
} from "./ReadingItems.ts"
import type { ReadingTable } from "./ReadingTable.ts"
import { Attr } from "./TableLayout.ts"

/** Attempts of one single-item write when other writers keep changing the item under it. */
const CONTENDED_ATTEMPTS = 5

export type Outcome = "inserted" | "updated" | "unchanged"

export interface Written {
  readonly outcome: Outcome
  /** The event the reading owes after this write: a change's, or an earlier unconfirmed one's (unchanged). */
  readonly owed: ReadingChange | null
}

/** What a write expects to find, from the read that planned it. */
export type Expectation = { readonly _tag: "Absent" } | { readonly _tag: "Stored"; readonly state: StoredState }

export interface PlannedWrite {
  readonly planned: PlannedReading
  readonly expect: Expectation
}

const merge = (a: Expression, b: Expression): Pick<Expression, "names" | "values"> => ({
  names: { ...a.names, ...b.names },
  values: { ...a.values, ...b.values }
})

/**
 * How one reading, or one transaction of up to 100, is written: each write is conditional on what the planning
 * read saw or on the measurement differing, so its outcome (inserted, updated, unchanged) is right whatever
 * other writers do, and a write that lands twice (a lost answer retried) is recognized by its write id.
 */
export const makeConditionalWrites = (readingTable: ReadingTable) => {
  const { dynamo, table, ttlDays, transactionsSupported, singleWrites, failed, decode } = readingTable

  const getState = (planned: PlannedReading) =>
    Effect.map(
      dynamo.call("GetItem", (sdk) =>
        sdk.send(
          new GetItemCommand({
            TableName: table,
            Key: keyOf(planned.pk, planned.sk),
            ConsistentRead: true,
            ProjectionExpression: stateProjection.expression,
            ExpressionAttributeNames: stateProjection.names
          })
        )
      ),
      (output) => (output.Item === undefined ? null : output.Item)
    )

  const writtenFrom = (state: StoredState, reading: Reading): Written => ({
    outcome: state.revision === 0 ? "inserted" : "updated",
    owed: { kind: pendingKind(state.published), reading }
  })

  /** The item a failed condition met: DynamoDB returns it; emulators without that feature read it back. */
  const itemBehind = (failure: DynamoFailure, planned: PlannedReading) => {
    const item = (failure.cause as { readonly Item?: Item }).Item
    return item === undefined ? getState(planned) : Effect.succeed(item)
  }

  /**
   * What a failed condition means for this write: our own write if the item carries our write id (an
   * earlier attempt landed and the SDK retried after a lost answer), unchanged if it holds the same
   * measurement, and otherwise nothing yet (`null`): the item changed meanwhile and the write is decided again.
   */
  const afterConditionFailure = (item: Item | null, planned: PlannedReading, writeId: string) =>
    item === null
      ? Effect.succeed(null)
      : Effect.map(
          decode("UpdateItem", () => stateOf(item)),
          (state): Written | null => {
            if (state.writeId === writeId) return writtenFrom(state, planned.reading)
            if (!sameStoredMeasurement(state, planned.reading)) return null
            return {
              outcome: "unchanged",
              owed: state.pending ? { kind: pendingKind(state.published), reading: planned.reading } : null
            }
          }
        )

  /**
   * Stores one reading with a conditional update that succeeds only for a new reading or a changed
   * measurement, so the answer is right whatever other writers do.
   */
  const writeOne = Effect.fnUntraced(function* (planned: PlannedReading, now: number, writeId: string) {
    const update = storeReadingUpdate(planned, now, writeId, ttlDays)
    const condition = absentOrDifferent(planned.reading)
    const { names, values } = merge(update, condition)
    for (let attempt = 1; attempt <= CONTENDED_ATTEMPTS; attempt++) {
      const written = yield* dynamo
        .call("UpdateItem", (sdk) =>
          sdk.send(
            new UpdateItemCommand({
              TableName: table,
              Key: keyOf(planned.pk, planned.sk),
              UpdateExpression: update.expression,
              ConditionExpression: condition.expression,
              ExpressionAttributeNames: names,
              ExpressionAttributeValues: values,
              ReturnValues: "ALL_NEW",
              ReturnValuesOnConditionCheckFailure: "ALL_OLD"
            })
          )
        )
        .pipe(
          Effect.flatMap((output) =>
            decode("UpdateItem", () => writtenFrom(stateOf(output.Attributes ?? {}), planned.reading))
          ),
          Effect.catchIf(
            (failure) => isConditionFailure(failure.cause),
            (failure) =>
              Effect.flatMap(itemBehind(failure, planned), (item) => afterConditionFailure(item, planned, writeId))
          )
        )
      if (written !== null) return written
    }
    return yield* failed(
      "UpdateItem",
      new Error(`The reading kept changing under ${CONTENDED_ATTEMPTS} attempts to store it`)
    )
  })

  /**
   * Stores a reading the planning read did not find with a conditional put (cheaper than the update for
   * DynamoDB and emulators alike); if another writer stored it meanwhile, the failed condition says what
   * is there and the general update takes over when the measurement differs.
   */
  const insertOne = Effect.fnUntraced(function* (planned: PlannedReading, now: number, writeId: string) {
    const written = yield* dynamo
      .call("PutItem", (sdk) =>
        sdk.send(
          new PutItemCommand({
            TableName: table,
            Item: newReadingItem(planned, now, writeId, ttlDays),
            ConditionExpression: `attribute_not_exists(${Attr.pk})`,
            ReturnValuesOnConditionCheckFailure: "ALL_OLD"
          })
        )
      )
      .pipe(
        Effect.as<Written | null>({ outcome: "inserted", owed: { kind: "created", reading: planned.reading } }),
        Effect.catchIf(
          (failure) => isConditionFailure(failure.cause),
          (failure) =>
            Effect.flatMap(itemBehind(failure, planned), (item) => afterConditionFailure(item, planned, writeId))
        )
      )
    return written ?? (yield* writeOne(planned, now, writeId))
  })

  /**
   * Writes up to 100 planned readings in one transaction whose conditions are exactly what the planning
   * read saw. Committed: each outcome is known from its expectation. Cancelled (another writer got there
   * first) or unsupported: none of it happened, and the caller stores them one by one instead.
   */
  const writeTransaction = Effect.fnUntraced(function* (
    writes: ReadonlyArray<PlannedWrite>,
    now: number,
    writeId: string
  ) {
    const actions = writes.map(({ planned, expect }): TransactWriteItem => {
      if (expect._tag === "Absent") {
        return {
          Put: {
            TableName: table,
            Item: newReadingItem(planned, now, writeId, ttlDays),
            ConditionExpression: `attribute_not_exists(${Attr.pk})`
          }
        }
      }
      const update = storeReadingUpdate(planned, now, writeId, ttlDays)
      const stored = measurementEquals(expect.state, "o")
      const published = expect.state.published ? `${Attr.published} = :true` : `attribute_not_exists(${Attr.published})`
      const { names, values } = merge(update, stored)
      return {
        Update: {
          TableName: table,
          Key: keyOf(planned.pk, planned.sk),
          UpdateExpression: update.expression,
          ConditionExpression: `${stored.expression} AND ${published}`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: expect.state.published ? { ...values, ":true": { BOOL: true } } : values
        }
      }
    })
    return yield* dynamo
      .call("TransactWriteItems", (sdk) =>
        sdk.send(
          new TransactWriteItemsCommand({ TransactItems: actions, ClientRequestToken: SecureRandom.uuidV4Unsafe() })
        )
      )
      .pipe(
        Effect.as("committed" as const),
        Effect.catchIf(
          (failure) => errorName(failure.cause) === "UnknownOperationException",
          () => Effect.as(Ref.set(transactionsSupported, false), "unsupported" as const)
        ),
        Effect.catchIf(
          (failure) =>
            ["TransactionCanceledException", "TransactionConflictException", "TransactionInProgressException"].includes(
              errorName(failure.cause)
            ),
          () => Effect.succeed("cancelled" as const)
        )
      )
  })

  const writeOneByOne = (writes: ReadonlyArray<PlannedWrite>, now: number, writeId: string) =>
    Effect.forEach(
      writes,
      ({ planned, expect }) =>
        singleWrites.withPermits(1)(
          expect._tag === "Absent" ? insertOne(planned, now, writeId) : writeOne(planned, now, writeId)
        ),
      { concurrency: "unbounded" }
    )

  return { writeTransaction, writeOneByOne }
}
