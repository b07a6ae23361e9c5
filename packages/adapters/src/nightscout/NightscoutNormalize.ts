import {
  type FetchedReadings,
  fetchedFromRecords,
  meaningOfEntry,
  normalizeRecords,
  type ProviderId,
  type Reading,
  RecordReading,
  type TimeWindow,
  type UserId
} from "@bg-ingest/domain"
import { Effect, Order, Result } from "effect"

/** Of two entries at one second (a site often holds one per uploader), the answer keeps the same one whatever the order. */
const preferred: Order.Order<Reading> = Order.mapInput(
  Order.String,
  (reading: Reading) =>
    `${String(reading.glucoseMgDl).padStart(3, "0")}|${reading.trend}|${reading.source.recordId ?? ""}|${reading.displayTime ?? ""}`
)

const MAX_REFUSED_LOGGED = 10

/**
 * A polled site's entries → readings. Each entry is read as the user's own site reads uploads
 * (`meaningOfEntry`: type sgv, value from 39, time from `date`, trend by direction then number; the entry's `_id` is
 * the record id), then the domain's loop keeps the window and one reading per second. Entries without a value or
 * with an error code are counted as such; an entry that cannot be a reading (no usable time, a time in the future, a
 * value above 600) is counted as rejected and logged by its `_id` — a site holds whatever was posted to it, and one
 * bad entry must not stop the rest.
 */
export const readingsOfEntries = Effect.fnUntraced(function* (
  provider: ProviderId,
  userId: UserId,
  entries: ReadonlyArray<unknown>,
  window: TimeWindow,
  nowMillis: number
) {
  const measurements: Array<RecordReading> = []
  let withoutValue = 0
  const refused: Array<string> = []
  for (const entry of entries) {
    const meaning = meaningOfEntry(entry, { userId, provider, nowMillis, recordId: "id" })
    if (Result.isFailure(meaning)) {
      const id = (entry as { readonly _id?: unknown } | null)?._id
      refused.push(`${typeof id === "string" ? id.slice(0, 32) : "an entry"}: ${meaning.failure.field}`)
      continue
    }
    const value = meaning.success
    if (value.kind === "skipped") {
      if (value.reason !== "not_sgv") withoutValue += 1
      continue
    }
    const { reading } = value
    measurements.push(
      RecordReading.measurement({
        instant: reading.timestamp,
        mgDl: reading.glucoseMgDl,
        trend: reading.trend,
        trendRate: reading.trendRate,
        status: reading.status,
        recordId: reading.source.recordId,
        displayTime: reading.displayTime
      })
    )
  }
  if (refused.length > 0) {
    yield* Effect.logWarning("Nightscout entries refused").pipe(
      Effect.annotateLogs({ provider, userId, count: refused.length, entries: refused.slice(0, MAX_REFUSED_LOGGED) })
    )
  }
  const normalized = normalizeRecords(measurements, {
    provider,
    userId,
    window,
    read: (record) => record,
    prefer: preferred
  })
  // The records are measurements already read: the loop cannot find one unreadable.
  if (Result.isFailure(normalized)) return yield* Effect.die(new Error(normalized.failure))
  const fetched = yield* fetchedFromRecords(provider, userId, normalized.success)
  return {
    readings: fetched.readings,
    skippedWithoutValue: fetched.skippedWithoutValue + withoutValue,
    rejected: fetched.rejected + refused.length
  } satisfies FetchedReadings
})
