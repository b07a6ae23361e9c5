import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { Connection, type ConnectionPatch, type ConnectionStatus, pollableStatuses } from "@bg-ingest/domain"
import { DateTime, Result, Schema, SchemaIssue } from "effect"
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

const instant = (item: Item, name: string): DateTime.Utc | null => {
  const value = item[name]?.N
  if (value === undefined) return null
  const parsed = Number(value)
  if (!Number.isFinite(parsed)) throw new CorruptItem(`Connection item has a non-numeric ${name}`)
  return DateTime.makeUnsafe(parsed)
}

const decodeConnection = Schema.decodeUnknownResult(Connection)
const formatIssue = SchemaIssue.makeFormatterStandardSchemaV1()

/**
 * Rebuilds a connection from its item, checked by the domain's `Connection` schema (ids, status, instants,
 * counts): an item this adapter cannot have written fails the call instead of becoming a made-up connection.
 * The message names the field, never its value (it may hold credentials).
 */
export const connectionOfItem = (item: Item): Connection => {
  const pk = item[Attr.pk]?.S ?? ""
  const sk = item[Attr.sk]?.S ?? ""
  if (!pk.startsWith(USER_PREFIX) || !sk.startsWith(CONNECTION_PREFIX)) {
    throw new CorruptItem(`Not a connection item: ${pk} ${sk}`)
  }
  const failures = item[Attr.consecutiveFailures]?.N
  const decoded = decodeConnection({
    userId: pk.slice(USER_PREFIX.length),
    provider: sk.slice(CONNECTION_PREFIX.length),
    status: item[Attr.connectionStatus]?.S,
    credentials: item[Attr.credentials]?.S ?? null,
    backfillFrom: instant(item, Attr.backfillFrom),
    syncedThrough: instant(item, Attr.syncedThrough),
    lastSyncAt: instant(item, Attr.lastSyncAt),
    lastReadingAt: instant(item, Attr.lastReadingAt),
    changesSince: instant(item, Attr.changesSince),
    lastError: item[Attr.lastError]?.S ?? null,
    nextPollAt: instant(item, Attr.nextPollAt),
    consecutiveFailures: failures === undefined ? undefined : Number(failures),
    createdAt: instant(item, Attr.createdAt),
    updatedAt: instant(item, Attr.updatedAt)
  } satisfies Record<keyof Connection, unknown>)
  if (Result.isFailure(decoded)) {
    const path = formatIssue(decoded.failure.issue).issues[0]?.path ?? []
    const field = path.map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".")
    throw new CorruptItem(`Connection item ${pk} ${sk} has a missing or invalid ${field || "shape"}`)
  }
  return decoded.success
}
