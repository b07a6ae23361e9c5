import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import type { PutManyResult, Reading, ReadingChange, UserId } from "@bg-ingest/domain"
import { Array as Arr, Clock, Effect, Ref } from "effect"
import { SecureRandom } from "effect/crypto"
import { makeConditionalWrites, type PlannedWrite, type Written } from "./ConditionalWrites.ts"
import { toReadingStoreError } from "./DynamoErrors.ts"
import {
  idOf,
  keyOf,
  type PlannedReading,
  pendingKind,
  plan,
  sameStoredMeasurement,
  stateOf,
  stateProjection
} from "./ReadingItems.ts"
import { GROUP_SIZE, GROUPS_IN_FLIGHT, type ReadingTable, roundsOf, TRANSACTION_THRESHOLD } from "./ReadingTable.ts"
import { Attr, READING_PREFIX, userPk } from "./TableLayout.ts"

/**
 * The reading store's writes: `putMany`, in rounds of distinct keys and groups of 100 (read what is stored, skip
 * the unchanged, write the rest with `ConditionalWrites`), and `deleteUser`.
 */
export const makeReadingWrites = (readingTable: ReadingTable) => {
  const { dynamo, transactionsSupported, decode, query } = readingTable
  const { writeTransaction, writeOneByOne } = makeConditionalWrites(readingTable)

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
    const [first = [], ...rest] = Arr.chunksOf(round, GROUP_SIZE)
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
      const call = SecureRandom.uuidV4Unsafe()
      for (const [index, round] of roundsOf(planned, (p) => p.id).entries()) {
        yield* storeRound(round, now, `${call}/${index}`, result)
      }
      return result satisfies PutManyResult
    },
    Effect.mapError(toReadingStoreError("putMany"))
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

  return { putMany, deleteUser }
}
