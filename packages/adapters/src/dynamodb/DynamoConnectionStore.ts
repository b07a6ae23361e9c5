import {
  type AttributeValue,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateItemCommand
} from "@aws-sdk/client-dynamodb"
import {
  type ClaimDueOptions,
  type Connection,
  type ConnectionPatch,
  type ConnectionStatus,
  ConnectionStatuses,
  ConnectionStore,
  countSetAside,
  type HeldLease,
  type ProviderId,
  pollableStatuses,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import {
  attributeOf,
  connectionItem,
  connectionKey,
  connectionOfItem,
  dueAttributes,
  fieldNames
} from "./ConnectionItems.ts"
import { DynamoDbClient } from "./DynamoDbClient.ts"
import { DynamoFailure, toConnectionStoreError, whenConditionFails } from "./DynamoErrors.ts"
import { mergedQuery } from "./MergedQuery.ts"
import { CorruptItem, type Item } from "./ReadingItems.ts"
import { Attr, CONNECTION_PREFIX, Index, userPk } from "./TableLayout.ts"

/** Attempts of an update whose outcome depends on a field another writer keeps changing. */
const CONTENDED_ATTEMPTS = 5

/** `ConnectionStore` on the readings table: one item per (user, provider), two sparse indexes for the scheduler. */
export const makeDynamoConnectionStore = Effect.gen(function* () {
  const dynamo = yield* DynamoDbClient
  const { table, decode } = dynamo

  const query = (input: Omit<QueryCommandInput, "TableName">) =>
    dynamo.call("Query", (sdk) => sdk.send(new QueryCommand({ TableName: table, ...input })))

  const read = (userId: UserId, provider: ProviderId) =>
    Effect.flatMap(
      dynamo.call("GetItem", (sdk) =>
        sdk.send(new GetItemCommand({ TableName: table, Key: connectionKey(userId, provider), ConsistentRead: true }))
      ),
      (output) =>
        output.Item === undefined
          ? Effect.succeed(Option.none<Connection>())
          : Effect.map(
              decode("GetItem", () => connectionOfItem(output.Item!)),
              Option.some
            )
    )

  const get = Effect.fn("DynamoConnectionStore.get")(
    function* (userId: UserId, provider: ProviderId) {
      return yield* read(userId, provider)
    },
    Effect.mapError(toConnectionStoreError("get"))
  )

  const listForUser = Effect.fn("DynamoConnectionStore.listForUser")(
    function* (userId: UserId) {
      const connections: Array<Connection> = []
      let start: Record<string, AttributeValue> | undefined
      do {
        const output = yield* query({
          KeyConditionExpression: `${Attr.pk} = :pk AND begins_with(${Attr.sk}, :prefix)`,
          ExpressionAttributeValues: { ":pk": { S: userPk(userId) }, ":prefix": { S: CONNECTION_PREFIX } },
          ConsistentRead: true,
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        })
        for (const item of output.Items ?? []) connections.push(yield* decode("Query", () => connectionOfItem(item)))
        start = output.LastEvaluatedKey
      } while (start !== undefined)
      return connections
    },
    Effect.mapError(toConnectionStoreError("listForUser"))
  )

  const upsert = Effect.fn("DynamoConnectionStore.upsert")(
    function* (connection: Connection) {
      yield* dynamo.call("PutItem", (sdk) =>
        sdk.send(new PutItemCommand({ TableName: table, Item: connectionItem(connection) }))
      )
    },
    Effect.mapError(toConnectionStoreError("upsert"))
  )

  /**
   * Sets the patched attributes in one conditional update. The due-index keys depend on both the status and
   * the next poll: when the patch gives only one of them, the other is read first and the update is made
   * conditional on it still being so (and tried again if another writer changed it meanwhile).
   */
  const update = Effect.fn("DynamoConnectionStore.update")(
    function* (userId: UserId, provider: ProviderId, patch: ConnectionPatch) {
      const patched = fieldNames.filter((field) => patch[field] !== undefined)
      if (patched.length === 0) return yield* read(userId, provider)
      const hasStatus = patch.status !== undefined
      const hasNextPoll = patch.nextPollAt !== undefined
      for (let attempt = 1; ; attempt++) {
        const set: Array<string> = []
        const remove: Array<string> = []
        const names: Record<string, string> = {}
        const values: Record<string, AttributeValue> = {}
        const conditions = [`attribute_exists(${Attr.pk})`]
        patched.forEach((field, index) => {
          const [name, value] = attributeOf(field, patch[field] as never)
          names[`#f${index}`] = name
          if (value === undefined) remove.push(`#f${index}`)
          else {
            set.push(`#f${index} = :f${index}`)
            values[`:f${index}`] = value
          }
        })
        if (hasStatus || hasNextPoll) {
          let status = patch.status
          let nextPollAt = patch.nextPollAt
          if (!hasStatus || !hasNextPoll) {
            const current = yield* read(userId, provider)
            if (Option.isNone(current)) return Option.none<Connection>()
            status ??= current.value.status
            if (!hasNextPoll) nextPollAt = current.value.nextPollAt
            if (!hasStatus) {
              conditions.push(`${Attr.connectionStatus} = :seenStatus`)
              values[":seenStatus"] = { S: current.value.status }
            } else if (current.value.nextPollAt === null) {
              conditions.push(`attribute_not_exists(${Attr.nextPollAt})`)
            } else {
              conditions.push(`${Attr.nextPollAt} = :seenNextPoll`)
              values[":seenNextPoll"] = { N: String(DateTime.toEpochMillis(current.value.nextPollAt)) }
            }
          }
          const due = dueAttributes(provider, status as ConnectionStatus, nextPollAt ?? null)
          if (due === null) remove.push(Attr.dueProvider, Attr.dueAt)
          else {
            set.push(`${Attr.dueProvider} = :dueProvider`, `${Attr.dueAt} = :dueAt`)
            values[":dueProvider"] = due.dueProvider
            values[":dueAt"] = due.dueAt
          }
        }
        const outcome = yield* dynamo
          .call("UpdateItem", (sdk) =>
            sdk.send(
              new UpdateItemCommand({
                TableName: table,
                Key: connectionKey(userId, provider),
                UpdateExpression: [
                  set.length > 0 ? `SET ${set.join(", ")}` : "",
                  remove.length > 0 ? `REMOVE ${remove.join(", ")}` : ""
                ]
                  .join(" ")
                  .trim(),
                ConditionExpression: conditions.join(" AND "),
                ExpressionAttributeNames: names,
                ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
                ReturnValues: "ALL_NEW"
              })
            )
          )
          .pipe(
            Effect.map((output) => output.Attributes),
            whenConditionFails(null)
          )
        if (outcome !== null) {
          const item = outcome
          return item === undefined
            ? Option.none()
            : Option.some(yield* decode("UpdateItem", () => connectionOfItem(item)))
        }
        // Missing, or (when a field was read first) changed meanwhile: only the latter is worth another try.
        if (conditions.length === 1 || attempt >= CONTENDED_ATTEMPTS) {
          if (conditions.length === 1) return Option.none()
          return yield* new DynamoFailure({
            command: "UpdateItem",
            endpoint: dynamo.endpoint,
            table,
            cause: new Error(`The connection kept changing under ${CONTENDED_ATTEMPTS} attempts to update it`)
          })
        }
      }
    },
    Effect.mapError(toConnectionStoreError("update"))
  )

  const remove = Effect.fn("DynamoConnectionStore.remove")(
    function* (userId: UserId, provider: ProviderId) {
      const output = yield* dynamo.call("DeleteItem", (sdk) =>
        sdk.send(
          new DeleteItemCommand({ TableName: table, Key: connectionKey(userId, provider), ReturnValues: "ALL_OLD" })
        )
      )
      return output.Attributes !== undefined
    },
    Effect.mapError(toConnectionStoreError("remove"))
  )

  interface Candidate {
    readonly key: Record<string, AttributeValue>
    readonly dueAt: number
  }

  const dueSource =
    (provider: ProviderId, now: number, pageSize: number) => (start: Record<string, AttributeValue> | undefined) =>
      Effect.map(
        query({
          IndexName: Index.dueConnections,
          KeyConditionExpression: `${Attr.dueProvider} = :provider AND ${Attr.dueAt} <= :now`,
          ExpressionAttributeValues: { ":provider": { S: provider }, ":now": { N: String(now) } },
          Limit: pageSize,
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        }),
        (output) => ({ items: output.Items ?? [], next: output.LastEvaluatedKey })
      )

  const pollable: Record<string, AttributeValue> = Object.fromEntries(
    pollableStatuses.map((status, index) => [`:pollable${index}`, { S: status }])
  )

  /**
   * Leases one candidate if it is still due as the index showed it: the update is conditional on the very
   * next-poll instant that was read, so of two replicas racing for it exactly one wins. A claim whose answer was
   * lost and that the SDK sends again finds its own lease (this holder, this lease's end) and takes it again:
   * the connection is not hidden from everyone for a whole lease.
   */
  const claim = (candidate: Candidate, leaseUntil: number, holder: string) =>
    dynamo
      .call("UpdateItem", (sdk) =>
        sdk.send(
          new UpdateItemCommand({
            TableName: table,
            Key: candidate.key,
            UpdateExpression: `SET ${Attr.nextPollAt} = :lease, ${Attr.dueAt} = :lease, ${Attr.leaseHolder} = :holder`,
            ConditionExpression: `(${Attr.nextPollAt} = :seen OR (${Attr.leaseHolder} = :holder AND ${Attr.nextPollAt} = :lease)) AND attribute_exists(${Attr.dueProvider}) AND ${Attr.connectionStatus} IN (${Object.keys(pollable).join(", ")})`,
            ExpressionAttributeValues: {
              ...pollable,
              ":lease": { N: String(leaseUntil) },
              ":seen": { N: String(candidate.dueAt) },
              ":holder": { S: holder }
            },
            ReturnValues: "ALL_OLD"
          })
        )
      )
      .pipe(
        Effect.map((output) => output.Attributes ?? null),
        whenConditionFails(null)
      )

  /**
   * Moves a lease still held (this holder, its end as held, a pollable status) to `to`, in the due index too. A
   * repeat of a move that landed (its answer lost) finds the lease already at `to` and counts as moved.
   */
  const moveLease = (operation: "renewLease" | "releaseLease", span: string) =>
    Effect.fn(span)(
      function* (lease: HeldLease, to: DateTime.Utc) {
        const moved = yield* dynamo
          .call("UpdateItem", (sdk) =>
            sdk.send(
              new UpdateItemCommand({
                TableName: table,
                Key: connectionKey(lease.userId, lease.provider),
                UpdateExpression: `SET ${Attr.nextPollAt} = :to, ${Attr.dueAt} = :to`,
                ConditionExpression: `${Attr.leaseHolder} = :holder AND ${Attr.nextPollAt} IN (:held, :to) AND attribute_exists(${Attr.dueProvider}) AND ${Attr.connectionStatus} IN (${Object.keys(pollable).join(", ")})`,
                ExpressionAttributeValues: {
                  ...pollable,
                  ":to": { N: String(DateTime.toEpochMillis(to)) },
                  ":held": { N: String(DateTime.toEpochMillis(lease.until)) },
                  ":holder": { S: lease.holder }
                }
              })
            )
          )
          .pipe(Effect.as(true), whenConditionFails(false))
        return moved
      },
      Effect.mapError(toConnectionStoreError(operation))
    )

  const renewLease = moveLease("renewLease", "DynamoConnectionStore.renewLease")
  const releaseLease = moveLease("releaseLease", "DynamoConnectionStore.releaseLease")

  /** Earliest due first across the providers; candidates another replica took meanwhile are skipped. */
  const setAsideDue = (item: Item) =>
    dynamo.call("UpdateItem", (sdk) =>
      sdk.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { [Attr.pk]: item[Attr.pk]!, [Attr.sk]: item[Attr.sk]! },
          UpdateExpression: `SET ${Attr.setAside} = :true REMOVE ${Attr.dueProvider}, ${Attr.dueAt}`,
          ExpressionAttributeValues: { ":true": { BOOL: true } }
        })
      )
    )

  const claimDue = Effect.fn("DynamoConnectionStore.claimDue")(
    function* ({ now, leaseUntil, providers, limit, holder }: ClaimDueOptions) {
      if (providers.length === 0 || limit <= 0) return []
      const leaseMillis = DateTime.toEpochMillis(leaseUntil)
      const candidates = mergedQuery(
        [...new Set(providers)].map((provider) =>
          dueSource(provider, DateTime.toEpochMillis(now), Math.min(1000, Math.max(10, limit)))
        ),
        (item) => Number(item[Attr.dueAt]?.N)
      )
      const claimed: Array<Item> = []
      while (claimed.length < limit) {
        const batch = yield* candidates.take(limit - claimed.length)
        if (batch.length === 0) break
        const items = yield* Effect.forEach(
          batch,
          (item): Effect.Effect<Item | null, DynamoFailure> =>
            claim(
              { key: { [Attr.pk]: item[Attr.pk]!, [Attr.sk]: item[Attr.sk]! }, dueAt: Number(item[Attr.dueAt]?.N) },
              leaseMillis,
              holder
            ),
          { concurrency: 16 }
        )
        for (const item of items) if (item !== null) claimed.push(item)
      }
      // A claimed item that is not a connection this adapter can read (written by something else) would be due
      // again at every cycle and fail every claim: it leaves the due index instead, logged and counted.
      const connections: Array<Connection> = []
      const unreadable: Array<Item> = []
      yield* decode("UpdateItem", () => {
        for (const item of claimed) {
          try {
            connections.push(connectionOfItem(item))
          } catch (error) {
            if (!(error instanceof CorruptItem)) throw error
            unreadable.push(item)
          }
        }
      })
      if (unreadable.length > 0) {
        yield* Effect.forEach(unreadable, setAsideDue, { concurrency: 16, discard: true })
        yield* countSetAside("stored_item", "claimDue", unreadable.length)
        yield* Effect.logWarning("Connection items that cannot be read were set aside (no longer polled)", {
          count: unreadable.length
        })
      }
      return connections
    },
    Effect.mapError(toConnectionStoreError("claimDue"))
  )

  const countStatus = (status: ConnectionStatus) =>
    Effect.gen(function* () {
      let count = 0
      let start: Record<string, AttributeValue> | undefined
      do {
        const output = yield* query({
          IndexName: Index.connectionsByStatus,
          KeyConditionExpression: `${Attr.connectionStatus} = :status`,
          ExpressionAttributeValues: { ":status": { S: status } },
          Select: "COUNT",
          ...(start === undefined ? {} : { ExclusiveStartKey: start })
        })
        count += output.Count ?? 0
        start = output.LastEvaluatedKey
      } while (start !== undefined)
      return [status, count] as const
    })

  const countByStatus = Effect.forEach(ConnectionStatuses, countStatus, { concurrency: "unbounded" }).pipe(
    Effect.map((counts) => Object.fromEntries(counts) as Record<ConnectionStatus, number>),
    Effect.mapError(toConnectionStoreError("countByStatus")),
    Effect.withSpan("DynamoConnectionStore.countByStatus")
  )

  return ConnectionStore.of({
    get,
    listForUser,
    upsert,
    update,
    remove,
    claimDue,
    renewLease,
    releaseLease,
    countByStatus
  })
})

export const DynamoConnectionStore = {
  /** Needs a `DynamoDbClient`. */
  layer: Layer.effect(ConnectionStore, makeDynamoConnectionStore)
} as const
