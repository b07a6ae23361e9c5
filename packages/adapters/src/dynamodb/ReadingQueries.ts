import { type AttributeValue, GetItemCommand } from "@aws-sdk/client-dynamodb"
import type { RangeOrder, Reading, UserId } from "@bg-ingest/domain"
import { DateTime, Effect, Option } from "effect"
import { toReadingStoreError } from "./DynamoErrors.ts"
import { keyOf, readingOrNone, readingProjection, readingSkAt } from "./ReadingItems.ts"
import { noteSetAside, type ReadingTable } from "./ReadingTable.ts"
import { Attr, READING_PREFIX, userPk } from "./TableLayout.ts"

/** Segments a long `range` is read in at once, each at least a week long, and only for limits from 1,000. */
const RANGE_SEGMENTS = 4
const RANGE_SEGMENT_MIN_SECONDS = 7 * 86_400
const RANGE_SEGMENT_MIN_LIMIT = 1000
/** Pages `latest` reads past items that cannot be readings before it gives up (answering none). */
const LATEST_PAGES = 5

/** The reading store's reads: `latest`, `range` and the health `ping`. */
export const makeReadingQueries = (readingTable: ReadingTable) => {
  const { dynamo, table, decode, query } = readingTable

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

  return { latest, range, ping }
}
