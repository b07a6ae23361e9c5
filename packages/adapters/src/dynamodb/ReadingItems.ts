import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import {
  formatInstant,
  GlucoseMgDl,
  type GlucoseStatus,
  GlucoseStatuses,
  isHoldableInstant,
  ProviderId,
  parseRfc3339,
  type Reading,
  type ReadingChangeKind,
  type Trend,
  Trends,
  UserId
} from "@bg-ingest/domain"
import { DateTime, Result, Schema } from "effect"
import { Attr, pendingShardOf, READING_PREFIX, USER_PREFIX, userPk } from "./TableLayout.ts"

export type Item = Record<string, AttributeValue>
export type Key = { readonly pk: AttributeValue.SMember; readonly sk: AttributeValue.SMember }

/** An item that this adapter cannot have written: a reading is never made up from it. */
export class CorruptItem extends Error {
  override readonly name = "CorruptItem"
}

/** `READING#2025-04-26T14:30:00Z`. Only four-digit years sort as text: instants outside 1970–9999 are refused. */
export const readingSk = (reading: Reading): string => {
  if (!isHoldableInstant(DateTime.toEpochMillis(reading.timestamp))) {
    throw new CorruptItem("Reading timestamp is outside the years 1970–9999 the table holds")
  }
  return `${READING_PREFIX}${formatInstant(reading.timestamp)}`
}

const LATEST_SECOND = 253_402_300_799

/** The sort key of an instant, for a query bound: clamped to 1970–9999 so that bounds always sort as text. */
export const readingSkAt = (epochSeconds: number): string =>
  `${READING_PREFIX}${formatInstant(DateTime.makeUnsafe(Math.min(Math.max(epochSeconds, 0), LATEST_SECOND) * 1000))}`

export const keyOf = (pk: string, sk: string): Key => ({ pk: { S: pk }, sk: { S: sk } })

/** What decides whether a write changes a reading (domain `sameMeasurement`), as stored. */
export interface StoredState {
  readonly glucoseMgDl: number
  readonly trend: string
  readonly trendRate: number | null
  readonly status: string
  readonly pending: boolean
  readonly published: boolean
  readonly revision: number
  readonly writeId: string | null
}

export const stateProjection = {
  expression: `${Attr.pk}, ${Attr.sk}, ${Attr.glucoseMgDl}, ${Attr.trend}, ${Attr.trendRate}, #status, ${Attr.pendingShard}, ${Attr.published}, ${Attr.revision}, ${Attr.writeId}`,
  names: { "#status": Attr.status }
} as const

const str = (item: Item, name: string): string => {
  const value = item[name]?.S
  if (value === undefined) throw new CorruptItem(`Item lacks the string attribute ${name}`)
  return value
}

const num = (item: Item, name: string): number => {
  const value = item[name]?.N
  const parsed = value === undefined ? Number.NaN : Number(value)
  if (!Number.isFinite(parsed)) throw new CorruptItem(`Item lacks the number attribute ${name}`)
  return parsed
}

const optionalStr = (item: Item, name: string): string | null => item[name]?.S ?? null

const optionalNum = (item: Item, name: string): number | null => (item[name] === undefined ? null : num(item, name))

export const stateOf = (item: Item): StoredState => ({
  glucoseMgDl: num(item, Attr.glucoseMgDl),
  trend: str(item, Attr.trend),
  trendRate: optionalNum(item, Attr.trendRate),
  status: str(item, Attr.status),
  pending: item[Attr.pendingShard] !== undefined,
  published: item[Attr.published]?.BOOL === true,
  revision: num(item, Attr.revision),
  writeId: optionalStr(item, Attr.writeId)
})

export const sameStoredMeasurement = (state: StoredState, reading: Reading): boolean =>
  state.glucoseMgDl === reading.glucoseMgDl &&
  state.trend === reading.trend &&
  state.trendRate === reading.trendRate &&
  state.status === reading.status

/** The event a pending reading owes: `created` until one of its events has been confirmed. */
export const pendingKind = (published: boolean): ReadingChangeKind => (published ? "updated" : "created")

/** The attributes a reading sets, `undefined` for the nullable ones it has not (they are removed). */
const readingAttributes = (reading: Reading, ttlDays: number | null): Record<string, AttributeValue | undefined> => ({
  [Attr.glucoseMgDl]: { N: String(reading.glucoseMgDl) },
  [Attr.trend]: { S: reading.trend },
  [Attr.trendRate]: reading.trendRate === null ? undefined : { N: String(reading.trendRate) },
  [Attr.status]: { S: reading.status },
  [Attr.provider]: { S: reading.source.provider },
  [Attr.recordId]: reading.source.recordId === null ? undefined : { S: reading.source.recordId },
  [Attr.displayTime]: reading.displayTime === null ? undefined : { S: reading.displayTime },
  ...(ttlDays === null
    ? {}
    : {
        [Attr.expiresAt]: {
          N: String(Math.floor(DateTime.toEpochMillis(reading.timestamp) / 1000) + ttlDays * 86_400)
        }
      })
})

/** One reading of a `putMany`, with its key computed once. */
export interface PlannedReading {
  readonly reading: Reading
  readonly pk: string
  readonly sk: string
  /** `pk` + `sk`, to match batch answers to requests. */
  readonly id: string
}

export const plan = (reading: Reading): PlannedReading => {
  const pk = userPk(reading.userId)
  const sk = readingSk(reading)
  return { reading, pk, sk, id: `${pk}\u0000${sk}` }
}

export const idOf = (item: Item): string => `${item[Attr.pk]?.S}\u0000${item[Attr.sk]?.S}`

/** The whole item of a reading stored for the first time: revision 0, its `created` event owed. */
export const newReadingItem = (planned: PlannedReading, now: number, writeId: string, ttlDays: number | null): Item => {
  const item: Item = {
    [Attr.pk]: { S: planned.pk },
    [Attr.sk]: { S: planned.sk },
    [Attr.ingestedAt]: { N: String(now) },
    [Attr.updatedAt]: { N: String(now) },
    [Attr.revision]: { N: "0" },
    [Attr.writeId]: { S: writeId },
    [Attr.pendingShard]: { S: pendingShardOf(planned.pk, planned.sk) },
    [Attr.pendingSince]: { N: String(now) }
  }
  for (const [name, value] of Object.entries(readingAttributes(planned.reading, ttlDays))) {
    if (value !== undefined) item[name] = value
  }
  return item
}

export interface Expression {
  readonly expression: string
  readonly names: Record<string, string>
  readonly values: Record<string, AttributeValue>
}

/**
 * The update that stores a reading whether or not it exists: every measured and provenance attribute, the
 * revision (0 for a new item), an owed event (its publication started now, by this writer) and our write id.
 */
export const storeReadingUpdate = (
  planned: PlannedReading,
  now: number,
  writeId: string,
  ttlDays: number | null
): Expression => {
  const names: Record<string, string> = {}
  const values: Record<string, AttributeValue> = {
    ":now": { N: String(now) },
    ":minusOne": { N: "-1" },
    ":one": { N: "1" },
    ":writeId": { S: writeId },
    ":shard": { S: pendingShardOf(planned.pk, planned.sk) }
  }
  const set = [
    `${Attr.ingestedAt} = if_not_exists(${Attr.ingestedAt}, :now)`,
    `${Attr.updatedAt} = :now`,
    `${Attr.revision} = if_not_exists(${Attr.revision}, :minusOne) + :one`,
    `${Attr.writeId} = :writeId`,
    `${Attr.pendingShard} = :shard`,
    // Its writer publishes it now: a sweep leaves it alone for a claim from now (`claimUnpublished`).
    `${Attr.pendingSince} = :now`
  ]
  const remove: Array<string> = []
  let index = 0
  for (const [name, value] of Object.entries(readingAttributes(planned.reading, ttlDays))) {
    const alias = `#a${index}`
    names[alias] = name
    if (value === undefined) remove.push(alias)
    else {
      set.push(`${alias} = :a${index}`)
      values[`:a${index}`] = value
    }
    index++
  }
  return {
    expression: `SET ${set.join(", ")}${remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""}`,
    names,
    values
  }
}

/** `true` when the stored measurement is exactly `measurement` (prefix keeps placeholders apart). */
export const measurementEquals = (
  measurement: {
    readonly glucoseMgDl: number
    readonly trend: string
    readonly trendRate: number | null
    readonly status: string
  },
  prefix: string
): Expression => {
  const values: Record<string, AttributeValue> = {
    [`:${prefix}g`]: { N: String(measurement.glucoseMgDl) },
    [`:${prefix}t`]: { S: measurement.trend },
    [`:${prefix}s`]: { S: measurement.status }
  }
  let rate = `attribute_not_exists(${Attr.trendRate})`
  if (measurement.trendRate !== null) {
    values[`:${prefix}r`] = { N: String(measurement.trendRate) }
    rate = `${Attr.trendRate} = :${prefix}r`
  }
  return {
    expression: `${Attr.glucoseMgDl} = :${prefix}g AND ${Attr.trend} = :${prefix}t AND #status = :${prefix}s AND ${rate}`,
    names: { "#status": Attr.status },
    values
  }
}

/** `true` when there is no item, or its measurement differs from `reading`'s. */
export const absentOrDifferent = (reading: Reading): Expression => {
  const values: Record<string, AttributeValue> = {
    ":ng": { N: String(reading.glucoseMgDl) },
    ":nt": { S: reading.trend },
    ":ns": { S: reading.status }
  }
  let rate = `attribute_exists(${Attr.trendRate})`
  if (reading.trendRate !== null) {
    values[":nr"] = { N: String(reading.trendRate) }
    rate = `attribute_not_exists(${Attr.trendRate}) OR ${Attr.trendRate} <> :nr`
  }
  return {
    expression: `attribute_not_exists(${Attr.pk}) OR ${Attr.glucoseMgDl} <> :ng OR ${Attr.trend} <> :nt OR #status <> :ns OR ${rate}`,
    names: { "#status": Attr.status },
    values
  }
}

/** The attributes a read needs to rebuild a reading (not the bookkeeping ones). */
export const readingProjection = {
  expression: `${Attr.sk}, ${Attr.glucoseMgDl}, ${Attr.trend}, ${Attr.trendRate}, #status, ${Attr.provider}, ${Attr.recordId}, ${Attr.displayTime}`,
  names: { "#status": Attr.status }
} as const

const trends: ReadonlySet<string> = new Set(Trends)
const statuses: ReadonlySet<string> = new Set(GlucoseStatuses)
const isProviderId = Schema.is(ProviderId)
const isUserId = Schema.is(UserId)
const isGlucose = Schema.is(GlucoseMgDl)

/** Provider ids already checked: a table holds a handful, and a range reads the same one on every item. */
const checkedProviders = new Set<string>()
const MAX_CHECKED_PROVIDERS = 256

const providerOf = (item: Item): ProviderId => {
  const provider = str(item, Attr.provider)
  if (checkedProviders.has(provider)) return provider as ProviderId
  if (!isProviderId(provider)) throw new CorruptItem(`Item has an invalid provider id ${JSON.stringify(provider)}`)
  if (checkedProviders.size < MAX_CHECKED_PROVIDERS) checkedProviders.add(provider)
  return provider
}

// The exact shape this adapter writes; checked strictly (a real date, 1970–9999), so that an item written by
// something else, or before instants were checked, never becomes a reading that cannot be formatted or published.
const SK_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/

const instantOfSk = (sk: string): DateTime.Utc => {
  const text = sk.startsWith(READING_PREFIX) ? sk.slice(READING_PREFIX.length) : ""
  const millis = SK_INSTANT.test(text) ? parseRfc3339(text) : Result.fail("not a time")
  if (Result.isFailure(millis)) throw new CorruptItem("Item has a reading sort key that is not a time of 1970–9999")
  return DateTime.makeUnsafe(millis.success)
}

/**
 * Rebuilds a reading from its item. Items come from a shared table, so each field is checked, the provider id's
 * brand included (cheaply: this runs 25,920 times for a 90-day range), and an item that does not fit throws a
 * `CorruptItem` instead of becoming a made-up reading (reads skip it: `readingOrNone`).
 */
export const readingOfItem = (item: Item, userId: UserId): Reading => {
  const trend = str(item, Attr.trend)
  const status = str(item, Attr.status)
  if (!trends.has(trend)) throw new CorruptItem(`Item has an unknown trend ${trend}`)
  if (!statuses.has(status)) throw new CorruptItem(`Item has an unknown status ${status}`)
  const glucoseMgDl = num(item, Attr.glucoseMgDl)
  if (!isGlucose(glucoseMgDl)) throw new CorruptItem(`Item has a glucose value outside the domain's range`)
  return {
    userId,
    timestamp: instantOfSk(str(item, Attr.sk)),
    glucoseMgDl,
    trend: trend as Trend,
    trendRate: optionalNum(item, Attr.trendRate),
    status: status as GlucoseStatus,
    source: { provider: providerOf(item), recordId: optionalStr(item, Attr.recordId) },
    displayTime: optionalStr(item, Attr.displayTime)
  }
}

export const userIdOfItem = (item: Item): UserId => {
  const pk = str(item, Attr.pk)
  const userId = pk.slice(USER_PREFIX.length)
  if (!pk.startsWith(USER_PREFIX) || !isUserId(userId)) {
    throw new CorruptItem(`Item has a partition key that is not a user: ${pk}`)
  }
  return userId
}

/** The reading of an item, or undefined when the item cannot be one (a `CorruptItem`): the caller counts it. */
export const readingOrNone = (item: Item, userId: UserId): Reading | undefined => {
  try {
    return readingOfItem(item, userId)
  } catch (error) {
    if (error instanceof CorruptItem) return undefined
    throw error
  }
}

/** A reading's planned write, or none when no key of the table can hold it (an instant outside 1970–9999). */
export const plannable = (reading: Reading): Array<PlannedReading> => {
  try {
    return [plan(reading)]
  } catch (error) {
    if (error instanceof CorruptItem) return []
    throw error
  }
}
