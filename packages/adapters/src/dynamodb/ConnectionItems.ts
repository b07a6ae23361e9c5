import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import {
  type Connection,
  type ConnectionPatch,
  type ConnectionStatus,
  ConnectionStatuses,
  type ProviderId,
  pollableStatuses,
  type UserId
} from "@bg-ingest/domain"
import { DateTime } from "effect"
import { CorruptItem, type Item } from "./ReadingItems.ts"
import { Attr, CONNECTION_PREFIX, USER_PREFIX, userPk } from "./TableLayout.ts"

export const connectionSk = (provider: string): string => `${CONNECTION_PREFIX}${provider}`

export const connectionKey = (userId: string, provider: string) => ({
  [Attr.pk]: { S: userPk(userId) },
  [Attr.sk]: { S: connectionSk(provider) }
})

type Field = keyof ConnectionPatch

/** How each field is stored: its attribute and its value (`undefined` when null, so the attribute is absent). */
const fields: { readonly [K in Field]-?: readonly [string, (value: Connection[K]) => AttributeValue | undefined] } = {
  status: [Attr.connectionStatus, (value) => ({ S: value })],
  credentials: [Attr.credentials, (value) => (value === null ? undefined : { S: value })],
  backfillFrom: [Attr.backfillFrom, (value) => millis(value)],
  syncedThrough: [Attr.syncedThrough, (value) => millis(value)],
  lastSyncAt: [Attr.lastSyncAt, (value) => millis(value)],
  lastReadingAt: [Attr.lastReadingAt, (value) => millis(value)],
  changesSince: [Attr.changesSince, (value) => millis(value)],
  lastError: [Attr.lastError, (value) => (value === null ? undefined : { S: value })],
  nextPollAt: [Attr.nextPollAt, (value) => millis(value)],
  consecutiveFailures: [Attr.consecutiveFailures, (value) => ({ N: String(value) })],
  updatedAt: [Attr.updatedAt, (value) => millis(value)]
}

export const fieldNames = Object.keys(fields) as ReadonlyArray<Field>

function millis(value: DateTime.Utc): AttributeValue
function millis(value: DateTime.Utc | null): AttributeValue | undefined
function millis(value: DateTime.Utc | null): AttributeValue | undefined {
  return value === null ? undefined : { N: String(DateTime.toEpochMillis(value)) }
}

export const attributeOf = <K extends Field>(
  field: K,
  value: Connection[K]
): readonly [string, AttributeValue | undefined] => {
  const [name, encode] = fields[field] as readonly [string, (value: Connection[K]) => AttributeValue | undefined]
  return [name, encode(value)]
}

/**
 * The sparse `due_connections` keys: present only while the scheduler may poll the connection, so the index
 * holds exactly the candidates of `claimDue`.
 */
export const dueAttributes = (
  provider: string,
  status: ConnectionStatus,
  nextPollAt: DateTime.Utc | null
): { readonly dueProvider: AttributeValue; readonly dueAt: AttributeValue } | null =>
  nextPollAt !== null && pollableStatuses.includes(status)
    ? { dueProvider: { S: provider }, dueAt: { N: String(DateTime.toEpochMillis(nextPollAt)) } }
    : null

export const connectionItem = (connection: Connection): Item => {
  const item: Item = {
    ...connectionKey(connection.userId, connection.provider),
    [Attr.createdAt]: { N: String(DateTime.toEpochMillis(connection.createdAt)) }
  }
  for (const field of fieldNames) {
    const [name, value] = attributeOf(field, connection[field] as never)
    if (value !== undefined) item[name] = value
  }
  const due = dueAttributes(connection.provider, connection.status, connection.nextPollAt)
  if (due !== null) {
    item[Attr.dueProvider] = due.dueProvider
    item[Attr.dueAt] = due.dueAt
  }
  return item
}

const statuses: ReadonlySet<string> = new Set(ConnectionStatuses)

const required = (item: Item, name: string): AttributeValue => {
  const value = item[name]
  if (value === undefined) throw new CorruptItem(`Connection item lacks ${name}`)
  return value
}

const instant = (item: Item, name: string): DateTime.Utc | null => {
  const value = item[name]?.N
  if (value === undefined) return null
  const parsed = Number(value)
  if (!Number.isFinite(parsed)) throw new CorruptItem(`Connection item has a non-numeric ${name}`)
  return DateTime.makeUnsafe(parsed)
}

const requiredInstant = (item: Item, name: string): DateTime.Utc => {
  const value = instant(item, name)
  if (value === null) throw new CorruptItem(`Connection item lacks ${name}`)
  return value
}

export const connectionOfItem = (item: Item): Connection => {
  const pk = required(item, Attr.pk).S ?? ""
  const sk = required(item, Attr.sk).S ?? ""
  if (!pk.startsWith(USER_PREFIX) || !sk.startsWith(CONNECTION_PREFIX)) {
    throw new CorruptItem(`Not a connection item: ${pk} ${sk}`)
  }
  const status = required(item, Attr.connectionStatus).S ?? ""
  if (!statuses.has(status)) throw new CorruptItem(`Connection item has an unknown status ${status}`)
  const failures = Number(required(item, Attr.consecutiveFailures).N)
  if (!Number.isInteger(failures)) throw new CorruptItem("Connection item has a non-integer consecutive_failures")
  return {
    userId: pk.slice(USER_PREFIX.length) as UserId,
    provider: sk.slice(CONNECTION_PREFIX.length) as ProviderId,
    status: status as ConnectionStatus,
    credentials: item[Attr.credentials]?.S ?? null,
    backfillFrom: requiredInstant(item, Attr.backfillFrom),
    syncedThrough: instant(item, Attr.syncedThrough),
    lastSyncAt: instant(item, Attr.lastSyncAt),
    lastReadingAt: instant(item, Attr.lastReadingAt),
    changesSince: instant(item, Attr.changesSince),
    lastError: item[Attr.lastError]?.S ?? null,
    nextPollAt: instant(item, Attr.nextPollAt),
    consecutiveFailures: failures,
    createdAt: requiredInstant(item, Attr.createdAt),
    updatedAt: requiredInstant(item, Attr.updatedAt)
  }
}
