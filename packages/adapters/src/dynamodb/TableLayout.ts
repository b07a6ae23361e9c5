import type { AttributeDefinition, GlobalSecondaryIndex, KeySchemaElement, Projection } from "@aws-sdk/client-dynamodb"

/**
 * The single-table layout (docs/dynamodb.md). Every item has `pk` and `sk`:
 * - reading:    pk = `USER#<userId>`, sk = `READING#<RFC 3339 UTC seconds>`, which sorts by time
 * - connection: pk = `USER#<userId>`, sk = `CONNECTION#<provider>`
 */
export const DEFAULT_TABLE = "bg_readings"

export const USER_PREFIX = "USER#"
export const READING_PREFIX = "READING#"
export const CONNECTION_PREFIX = "CONNECTION#"
/** A provider application's call budget: pk = `BUDGET#<key>`, sk = `WINDOW#<epoch ms of the window's start>`. */
export const BUDGET_PREFIX = "BUDGET#"
export const BUDGET_WINDOW_PREFIX = "WINDOW#"

export const userPk = (userId: string): string => `${USER_PREFIX}${userId}`

/** Attribute names, in one place so that expressions and decoders cannot drift apart. */
export const Attr = {
  pk: "pk",
  sk: "sk",
  // reading
  glucoseMgDl: "glucose_mg_dl",
  trend: "trend",
  trendRate: "trend_rate",
  status: "status",
  provider: "provider",
  recordId: "record_id",
  displayTime: "display_time",
  ingestedAt: "ingested_at",
  updatedAt: "updated_at",
  revision: "revision",
  writeId: "write_id",
  pendingShard: "pending_shard",
  pendingSince: "pending_since",
  published: "published",
  /** Who claimed the publication of an owed event last (a sweep's token), so a claim sent again knows its own. */
  publishClaimant: "publish_claimant",
  /** Set on an item whose owed event could not be read and was taken out of the outbox (never published). */
  setAside: "set_aside",
  expiresAt: "expires_at",
  // connection
  connectionStatus: "connection_status",
  credentials: "credentials",
  backfillFrom: "backfill_from",
  syncedThrough: "synced_through",
  lastSyncAt: "last_sync_at",
  lastReadingAt: "last_reading_at",
  changesSince: "changes_since",
  lastError: "last_error",
  nextPollAt: "next_poll_at",
  consecutiveFailures: "consecutive_failures",
  createdAt: "created_at",
  /** The replica that claimed the connection last (`claimDue`), so that only it renews or releases the lease. */
  leaseHolder: "lease_holder",
  dueProvider: "due_provider",
  dueAt: "due_at",
  // call budget
  budgetCalls: "budget_calls",
  windowEnd: "window_end"
} as const

/**
 * Readings whose event is not confirmed yet are spread over this many partitions of the sparse
 * `pending_events` index, so that a backfill's churn (each reading enters and leaves the index once) never
 * concentrates on one partition's write limit. Fixed: changing it would hide the items in the other shards.
 */
export const PENDING_SHARDS = 16

export const pendingShards: ReadonlyArray<string> = Array.from({ length: PENDING_SHARDS }, (_, shard) =>
  String(shard).padStart(2, "0")
)

/** FNV-1a over the item key: a stable, evenly spread shard per reading. */
export const pendingShardOf = (pk: string, sk: string): string => {
  let hash = 0x811c9dc5
  const key = `${pk}\u0000${sk}`
  for (let index = 0; index < key.length; index++) {
    hash ^= key.charCodeAt(index)
    hash = Math.imul(hash, 0x01000193)
  }
  return pendingShards[(hash >>> 0) % PENDING_SHARDS]!
}

export const Index = {
  /** Sparse: readings that owe an event, by shard, oldest first (`unpublished`). */
  pendingEvents: "pending_events",
  /** Sparse: pollable connections with a next poll, by provider, earliest first (`claimDue`). */
  dueConnections: "due_connections",
  /** Connections by status (`countByStatus`). */
  connectionsByStatus: "connections_by_status"
} as const

export interface IndexDefinition {
  readonly name: string
  readonly keys: ReadonlyArray<{ readonly name: string; readonly type: "S" | "N"; readonly role: "HASH" | "RANGE" }>
  readonly projection: Projection
}

export const tableKeys: ReadonlyArray<{ readonly name: string; readonly type: "S"; readonly role: "HASH" | "RANGE" }> =
  [
    { name: Attr.pk, type: "S", role: "HASH" },
    { name: Attr.sk, type: "S", role: "RANGE" }
  ]

export const indexes: ReadonlyArray<IndexDefinition> = [
  {
    name: Index.pendingEvents,
    keys: [
      { name: Attr.pendingShard, type: "S", role: "HASH" },
      { name: Attr.pendingSince, type: "N", role: "RANGE" }
    ],
    // The sweep publishes from the index alone; items stay in it only until their event is confirmed.
    projection: { ProjectionType: "ALL" }
  },
  {
    name: Index.dueConnections,
    keys: [
      { name: Attr.dueProvider, type: "S", role: "HASH" },
      { name: Attr.dueAt, type: "N", role: "RANGE" }
    ],
    // Keys only: the claim reads the connection from the table, so credentials are never copied to an index.
    projection: { ProjectionType: "KEYS_ONLY" }
  },
  {
    name: Index.connectionsByStatus,
    keys: [{ name: Attr.connectionStatus, type: "S", role: "HASH" }],
    projection: { ProjectionType: "KEYS_ONLY" }
  }
]

const keySchema = (keys: IndexDefinition["keys"]): Array<KeySchemaElement> =>
  keys.map((key) => ({ AttributeName: key.name, KeyType: key.role }))

export const attributeDefinitions = (): Array<AttributeDefinition> => {
  const definitions = new Map<string, AttributeDefinition>()
  for (const key of [...tableKeys, ...indexes.flatMap((index) => index.keys)]) {
    definitions.set(key.name, { AttributeName: key.name, AttributeType: key.type })
  }
  return [...definitions.values()]
}

export const tableKeySchema = (): Array<KeySchemaElement> => keySchema(tableKeys)

export const globalSecondaryIndex = (index: IndexDefinition): GlobalSecondaryIndex => ({
  IndexName: index.name,
  KeySchema: keySchema(index.keys),
  Projection: index.projection
})

/**
 * `create-if-missing` (development): create the table, its indexes and TTL when missing, and wait until they
 * are active. `require-existing` (staging, production): only check, and stop with a clear error when the
 * table or an index is missing or different.
 */
export type TableLifecycle = "create-if-missing" | "require-existing"
