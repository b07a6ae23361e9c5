import { randomUUID } from "node:crypto"
import {
  type AttributeValue,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  type TransactWriteItem,
  TransactWriteItemsCommand,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import {
  countSetAside,
  type PutManyResult,
  type RangeOrder,
  type Reading,
  type ReadingChange,
  ReadingStore,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Effect, Layer, Option, Ref, Semaphore } from "effect"
import { DynamoDbClient } from "./DynamoDbClient.ts"
import { DynamoFailure, errorName, isConditionFailure, toReadingStoreError } from "./DynamoErrors.ts"
import { mergedQuery } from "./MergedQuery.ts"
import {
  absentOrDifferent,
  CorruptItem,
  type Expression,
  type Item,
  idOf,
  keyOf,
  measurementEquals,
  newReadingItem,
  type PlannedReading,
  pendingKind,
  plan,
  readingOfItem,
  readingProjection,
  readingSkAt,
  type StoredState,
  sameStoredMeasurement,
  stateOf,
  stateProjection,
  storeReadingUpdate,
  userIdOfItem
} from "./ReadingItems.ts"
import { Attr, Index, pendingShards, READING_PREFIX, userPk } from "./TableLayout.ts"

/** Keys per group: one BatchGetItem (at most 100 keys) and at most one TransactWriteItems (at most 100 actions). */
const GROUP_SIZE = 100
/** Groups of one call stored at once. */
const GROUPS_IN_FLIGHT = 4
/**
 * Below this many writes a call uses single conditional writes (1 write unit each); from it on, transactions
 * (2 units each, but 100 items per request), which is what makes a backfill fast.
 */
const TRANSACTION_THRESHOLD = 25
/** Segments a long `range` is read in at once, each at least a week long, and only for limits from 1,000. */
const RANGE_SEGMENTS = 4
const RANGE_SEGMENT_MIN_SECONDS = 7 * 86_400
const RANGE_SEGMENT_MIN_LIMIT = 1000
/** Pages `latest` reads past items that cannot be readings before it gives up (answering none). */
const LATEST_PAGES = 5
/** Attempts of one single-item write when other writers keep changing the item under it. */
const CONTENDED_ATTEMPTS = 5

type Outcome = "inserted" | "updated" | "unchanged"

interface Written {
  readonly outcome: Outcome
  /** The event the reading owes after this write: a change's, or an earlier unconfirmed one's (unchanged). */
  readonly owed: ReadingChange | null
}

/** What a write expects to find, from the read that planned it. */
type Expectation = { readonly _tag: "Absent" } | { readonly _tag: "Stored"; readonly state: StoredState }

interface PlannedWrite {
  readonly planned: PlannedReading
  readonly expect: Expectation
}

/** Splits a batch into rounds with distinct keys, in order: a later reading for the same instant wins. */
const roundsOf = <A>(items: ReadonlyArray<A>, idOfItem: (item: A) => string): Array<Array<A>> => {
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

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size))
  return chunks
}

const merge = (a: Expression, b: Expression): Pick<Expression, "names" | "values"> => ({
  names: { ...a.names, ...b.names },
  values: { ...a.values, ...b.values }
})

/** `ReadingStore` on one DynamoDB table (docs/dynamodb.md): the pending-event outbox lives on each item. */
export const makeDynamoReadingStore = Effect.gen(function* () {
  const dynamo = yield* DynamoDbClient
  const { table, tuning } = dynamo
  const ttlDays = Option.getOrNull(dynamo.readingTtlDays)
  // dynalite has no transactions; the first refusal switches this store to single conditional writes for good.
  const transactionsSupported = yield* Ref.make(true)
  const singleWrites = yield* Semaphore.make(tuning.writeConcurrency)

  const plannable = (reading: Reading): Array<PlannedReading> => {
    try {
      return [plan(reading)]
    } catch (error) {
      if (error instanceof CorruptItem) return []
      throw error
    }
  }

  /** Items that cannot be read as readings are skipped by reads and counted, never a failed call. */
  const noteSetAside = (where: string, count: number) =>
    count === 0
      ? Effect.void
      : countSetAside("stored_item", where, count).pipe(
          Effect.andThen(
            Effect.logWarning("Stored items that cannot be read as readings were set aside", { where, count })
          )
        )

  /** The reading of an item, or undefined when it cannot be one (counted by the caller). */
  const readingOrNone = (item: Item, userId: UserId): Reading | undefined => {
    try {
      return readingOfItem(item, userId)
    } catch (error) {
      if (error instanceof CorruptItem) return undefined
      throw error
    }
  }

  const failed = (command: string, cause: unknown) =>
    new DynamoFailure({ command, cause, endpoint: dynamo.endpoint, table })

  const decode = <A>(command: string, body: () => A): Effect.Effect<A, DynamoFailure> =>
    Effect.try({ try: body, catch: (cause) => failed(command, cause) })

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
        sdk.send(new TransactWriteItemsCommand({ TransactItems: actions, ClientRequestToken: randomUUID() }))
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

  /** A group's writes: one transaction when it is worth it and the server has them, else one by one. */
  const writeGroup = Effect.fnUntraced(function* (writes: ReadonlyArray<PlannedWrite>, now: number, writeId: string) {
    if (writes.length < TRANSACTION_THRESHOLD || !(yield* Ref.get(transactionsSupported))) {
      return yield* writeOneByOne(writes, now, writeId)
    }
    if ((yield* writeTransaction(writes, now, writeId)) !== "committed")
      return yield* writeOneByOne(writes, now, writeId)
    return writes.map(
      ({ planned, expect }): Written => ({
        outcome: expect._tag === "Absent" ? "inserted" : "updated",
        owed: {
          kind: expect._tag === "Absent" ? "created" : pendingKind(expect.state.published),
          reading: planned.reading
        }
      })
    )
  })

  /**
   * Up to 100 distinct keys: read what is stored (one BatchGetItem), skip the unchanged, write the rest.
   * With `assumeAbsent` the read is skipped and every reading is written as new: the conditions still
   * decide (a cancelled transaction or a failed put falls back to the single writes that look), so a wrong
   * guess costs time, never correctness. Answers how many of the group were found stored.
   */
  const storeGroup = Effect.fnUntraced(function* (
    group: ReadonlyArray<PlannedReading>,
    now: number,
    writeId: string,
    assumeAbsent: boolean
  ) {
    const items = assumeAbsent
      ? []
      : yield* dynamo.batchGet(
          group.map((planned) => keyOf(planned.pk, planned.sk)),
          stateProjection
        )
    const stored = yield* decode("BatchGetItem", () => new Map(items.map((item) => [idOf(item), stateOf(item)])))
    const writes: Array<PlannedWrite> = []
    const outcomes: Array<Written> = []
    for (const planned of group) {
      const state = stored.get(planned.id)
      if (state === undefined) writes.push({ planned, expect: { _tag: "Absent" } })
      else if (!sameStoredMeasurement(state, planned.reading)) {
        writes.push({ planned, expect: { _tag: "Stored", state } })
      } else {
        outcomes.push({
          outcome: "unchanged",
          owed: state.pending ? { kind: pendingKind(state.published), reading: planned.reading } : null
        })
      }
    }
    return { found: stored.size, written: [...outcomes, ...(yield* writeGroup(writes, now, writeId))] }
  })

  /**
   * One round of distinct keys in groups of 100, several groups in flight so that reads and writes overlap.
   * The first group is read before it is written; when none of it was stored yet (a backfill), the others
   * skip the read, which on a new range only costs a request per group. Single writes across all groups are
   * bounded by the store's `writeConcurrency`.
   */
  const storeRound = Effect.fnUntraced(function* (
    round: ReadonlyArray<PlannedReading>,
    now: number,
    writeId: string,
    result: {
      inserted: number
      updated: number
      unchanged: number
      changes: Array<ReadingChange>
      owed: Array<ReadingChange>
    }
  ) {
    const [first = [], ...rest] = chunksOf(round, GROUP_SIZE)
    const head = yield* storeGroup(first, now, writeId, false)
    const others = yield* Effect.forEach(rest, (group) => storeGroup(group, now, writeId, head.found === 0), {
      concurrency: GROUPS_IN_FLIGHT
    })
    for (const written of [head, ...others].flatMap((group) => group.written)) {
      result[written.outcome] += 1
      if (written.owed !== null) (written.outcome === "unchanged" ? result.owed : result.changes).push(written.owed)
    }
  })

  const putMany = Effect.fn("DynamoReadingStore.putMany")(
    function* (readings: ReadonlyArray<Reading>) {
      const result = {
        inserted: 0,
        updated: 0,
        unchanged: 0,
        changes: [] as Array<ReadingChange>,
        owed: [] as Array<ReadingChange>
      }
      if (readings.length === 0) return result satisfies PutManyResult
      const planned = yield* decode("putMany", () => readings.map(plan))
      const now = yield* Clock.currentTimeMillis
      const call = randomUUID()
      for (const [index, round] of roundsOf(planned, (p) => p.id).entries()) {
        yield* storeRound(round, now, `${call}/${index}`, result)
      }
      return result satisfies PutManyResult
    },
    Effect.mapError(toReadingStoreError("putMany"))
  )

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
            ClientRequestToken: randomUUID()
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
      const planned = yield* decode("markPublished", () => readings.flatMap((reading) => plannable(reading)))
      for (const round of roundsOf(planned, (p) => p.id)) {
        yield* Effect.forEach(chunksOf(round, GROUP_SIZE), confirmGroup, {
          concurrency: GROUPS_IN_FLIGHT,
          discard: true
        })
      }
    },
    Effect.mapError(toReadingStoreError("markPublished"))
  )

  const setAsideOwed = (item: Item) => {
    const pk = item[Attr.pk]
    const sk = item[Attr.sk]
    if (pk?.S === undefined || sk?.S === undefined) return Effect.void
    return dynamo.call("UpdateItem", (sdk) =>
      sdk.send(
        new UpdateItemCommand({
          TableName: table,
          Key: keyOf(pk.S!, sk.S!),
          UpdateExpression: `SET ${Attr.setAside} = :true REMOVE ${Attr.pendingShard}, ${Attr.pendingSince}`,
          ExpressionAttributeValues: { ":true": { BOOL: true } }
        })
      )
    )
  }

  const query = (input: Omit<QueryCommandInput, "TableName">) =>
    dynamo.call("Query", (sdk) => sdk.send(new QueryCommand({ TableName: table, ...input })))

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

  const latest = Effect.fn("DynamoReadingStore.latest")(
    function* (userId: UserId) {
      // One item is read; only when it cannot be a reading (set aside) are the next ones read, a page at a time.
      let skipped = 0
      let start: Record<string, AttributeValue> | undefined
      for (let page = 0; page < LATEST_PAGES; page++) {
        const output = yield* query({
          KeyConditionExpression: `${Attr.pk} = :pk AND begins_with(${Attr.sk}, :prefix)`,
          ExpressionAttributeValues: { ":pk": { S: userPk(userId) }, ":prefix": { S: READING_PREFIX } },
          ProjectionExpression: readingProjection.expression,
          ExpressionAttributeNames: readingProjection.names,
          ScanIndexForward: false,
          Limit: page === 0 ? 1 : 100,
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        })
        for (const item of output.Items ?? []) {
          const reading = yield* decode("Query", () => readingOrNone(item, userId))
          if (reading !== undefined) {
            yield* noteSetAside("latest", skipped)
            return Option.some(reading)
          }
          skipped += 1
        }
        start = output.LastEvaluatedKey
        if (start === undefined) break
      }
      yield* noteSetAside("latest", skipped)
      return Option.none()
    },
    Effect.mapError(toReadingStoreError("latest"))
  )

  /** Readings of `[first, last]` (epoch seconds, both inclusive) in `order`, at most `limit`, paginated. */
  const rangeSegment = Effect.fnUntraced(function* (
    userId: UserId,
    first: number,
    last: number,
    limit: number,
    order: RangeOrder
  ) {
    const readings: Array<Reading> = []
    let start: Record<string, AttributeValue> | undefined
    do {
      const output = yield* query({
        KeyConditionExpression: `${Attr.pk} = :pk AND ${Attr.sk} BETWEEN :from AND :to`,
        ExpressionAttributeValues: {
          ":pk": { S: userPk(userId) },
          ":from": { S: readingSkAt(first) },
          ":to": { S: readingSkAt(last) }
        },
        ProjectionExpression: readingProjection.expression,
        ExpressionAttributeNames: readingProjection.names,
        Limit: limit - readings.length,
        ScanIndexForward: order === "oldestFirst",
        ConsistentRead: true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start })
      })
      const skipped = yield* decode("Query", () => {
        let corrupt = 0
        for (const item of output.Items ?? []) {
          const reading = readingOrNone(item, userId)
          if (reading === undefined) corrupt += 1
          else readings.push(reading)
        }
        return corrupt
      })
      yield* noteSetAside("range", skipped)
      start = output.LastEvaluatedKey
    } while (start !== undefined && readings.length < limit)
    return readings
  })

  /**
   * A long window with a large limit is read as a few consecutive time segments queried at once (each
   * paginated on its own), so pages of different segments overlap; the segments are joined in order and cut
   * at `limit`. A small limit reads one segment, so little is read beyond what is returned.
   */
  const range = Effect.fn("DynamoReadingStore.range")(
    function* (
      userId: UserId,
      window: { from: DateTime.Utc; to: DateTime.Utc },
      limit: number,
      order: RangeOrder = "oldestFirst"
    ) {
      // Whole seconds: from inclusive, to exclusive, as BETWEEN's inclusive bounds.
      const first = Math.ceil(DateTime.toEpochMillis(window.from) / 1000)
      const last = Math.ceil(DateTime.toEpochMillis(window.to) / 1000) - 1
      if (limit <= 0 || first > last) return []
      const span = last - first + 1
      const segments =
        limit < RANGE_SEGMENT_MIN_LIMIT ? 1 : Math.min(RANGE_SEGMENTS, Math.ceil(span / RANGE_SEGMENT_MIN_SECONDS))
      const step = Math.ceil(span / segments)
      const starts = Array.from({ length: segments }, (_, index) => first + index * step).filter((from) => from <= last)
      const parts = yield* Effect.forEach(
        order === "oldestFirst" ? starts : starts.reverse(),
        (from) => rangeSegment(userId, from, Math.min(last, from + step - 1), limit, order),
        { concurrency: "unbounded" }
      )
      const readings = parts.flat()
      return readings.length > limit ? readings.slice(0, limit) : readings
    },
    Effect.mapError(toReadingStoreError("range"))
  )

  const deleteUser = Effect.fn("DynamoReadingStore.deleteUser")(
    function* (userId: UserId) {
      let deleted = 0
      let start: Record<string, AttributeValue> | undefined
      do {
        const output = yield* query({
          KeyConditionExpression: `${Attr.pk} = :pk AND begins_with(${Attr.sk}, :prefix)`,
          ExpressionAttributeValues: { ":pk": { S: userPk(userId) }, ":prefix": { S: READING_PREFIX } },
          ProjectionExpression: `${Attr.pk}, ${Attr.sk}`,
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        })
        const keys = output.Items ?? []
        yield* dynamo.batchWrite(keys.map((key) => ({ DeleteRequest: { Key: key } })))
        deleted += keys.length
        start = output.LastEvaluatedKey
      } while (start !== undefined)
      return deleted
    },
    Effect.mapError(toReadingStoreError("deleteUser"))
  )

  // A read of a key no reading has: proves the table, the credentials and the network in one cheap call.
  const ping = dynamo
    .call("GetItem", (sdk) =>
      sdk.send(
        new GetItemCommand({
          TableName: table,
          Key: keyOf("HEALTH#ping", "HEALTH#ping"),
          ProjectionExpression: Attr.pk
        })
      )
    )
    .pipe(Effect.asVoid, Effect.mapError(toReadingStoreError("ping")), Effect.withSpan("DynamoReadingStore.ping"))

  return ReadingStore.of({ putMany, markPublished, unpublished, latest, range, deleteUser, ping })
})

export const DynamoReadingStore = {
  /** Needs a `DynamoDbClient`. */
  layer: Layer.effect(ReadingStore, makeDynamoReadingStore)
} as const
