import { PutItemCommand } from "@aws-sdk/client-dynamodb"
import { DynamoDbClient, pendingShardOf, userPk } from "@bg-ingest/adapters/dynamodb"
import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { makeSimulatorProvider, SIMULATOR_PROVIDER_ID } from "@bg-ingest/adapters/simulator"
import {
  ConnectionStore,
  Ingest,
  makeReading,
  newConnection,
  ProviderId,
  ReadingStore,
  Scheduler,
  UserId
} from "@bg-ingest/domain"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { dynamoStoresLayer, startDynalite } from "../support/dynamodb.ts"
import { get, testServer } from "../support/server.ts"

// Items the old code wrote (or another writer did) that are not readings this adapter can serve: a year-10000
// instant, a year-0 one, a sort key that is no time at all, an unknown trend. Each owes an event.
const dynalite = await startDynalite()
afterAll(() => dynalite.stop())

const isoSeconds = (epochMillis: number) => `${new Date(epochMillis).toISOString().slice(0, 19)}Z`

describe("DynamoDB: stored items that cannot be readings are set aside, never a 503", () => {
  it.live("latest, a far range, the sweep and /metrics carry on around them", () => {
    const stores = dynamoStoresLayer(dynalite.endpoint)
    const core = domainLayer([], { readingStore: stores })
    return Effect.gen(function* () {
      const { sdk, table } = yield* DynamoDbClient
      const putRaw = (userId: string, sk: string, trend = "flat") => {
        const pk = userPk(userId)
        return Effect.promise(() =>
          sdk.send(
            new PutItemCommand({
              TableName: table,
              Item: {
                pk: { S: pk },
                sk: { S: sk },
                glucose_mg_dl: { N: "120" },
                trend: { S: trend },
                status: { S: "ok" },
                provider: { S: "webhook" },
                ingested_at: { N: "1" },
                updated_at: { N: "1" },
                revision: { N: "0" },
                pending_shard: { S: pendingShardOf(pk, sk) },
                pending_since: { N: "1" }
              }
            })
          )
        )
      }
      yield* putRaw("victim", "READING#+010000-01-01T00:00Z")
      yield* putRaw("victim", "READING#9999-12-31T23:59:59Z", "sideways")
      yield* putRaw("victim", "READING#2026-02-30T00:00:00Z")
      yield* putRaw("attacker", "READING#-000001-12-31T23:00:00Z")
      const now = yield* DateTime.now
      const good = makeReading({
        userId: UserId.make("victim"),
        timestamp: DateTime.subtract(now, { minutes: 4 }),
        glucoseMgDl: 101,
        source: { provider: ProviderId.make("webhook"), recordId: null }
      })
      yield* Ingest.use((ingest) => ingest.ingest(good.userId, [good]))

      const latest = yield* get("/api/bg/victim/latest")
      assert.strictEqual(latest.status, 200, JSON.stringify(latest.body))
      assert.strictEqual(latest.body.timestamp, isoSeconds(DateTime.toEpochMillis(good.timestamp)))
      const far = yield* get(
        `/api/bg/victim?from=9999-12-01T00:00:00Z&to=${encodeURIComponent("9999-12-31T23:59:59Z")}`
      )
      assert.deepStrictEqual([far.status, far.body], [200, []])
      const recent = yield* get(`/api/bg/victim?from=${isoSeconds(DateTime.toEpochMillis(now) - 3_600_000)}`)
      assert.deepStrictEqual(
        recent.body.map((reading: { glucose_mg_dl: number }) => reading.glucose_mg_dl),
        [101]
      )

      // The sweep sets the unreadable owed items aside, once, and is then empty.
      assert.strictEqual(yield* Ingest.use((ingest) => ingest.republishUnconfirmed(100)), 0)
      assert.deepStrictEqual(yield* ReadingStore.use((store) => store.unpublished(100)), [])
      assert.isTrue(
        (yield* InMemoryEventLog.use((log) => log.events)).every((event) => event.reading.glucoseMgDl === 101)
      )
      const metrics = yield* get("/metrics")
      assert.match(metrics.body, /^bg_ingest_set_aside_total\{kind="stored_item",where="unpublished"\} 4$/m)
      assert.match(metrics.body, /^bg_ingest_set_aside_total\{kind="stored_item",where="latest"\} [1-9]\d*$/m)
    }).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core), Layer.provideMerge(stores))), Effect.scoped)
  })

  it.live("a connection item that cannot be read leaves the due index; the others are claimed and synced", () => {
    const stores = dynamoStoresLayer(dynalite.endpoint)
    const core = domainLayer([makeSimulatorProvider()], { readingStore: stores, connectionStore: stores })
    return Effect.gen(function* () {
      const { sdk, table } = yield* DynamoDbClient
      const now = yield* DateTime.now
      const pk = userPk("broken")
      yield* Effect.promise(() =>
        sdk.send(
          new PutItemCommand({
            TableName: table,
            Item: {
              pk: { S: pk },
              sk: { S: "CONNECTION#simulator" },
              connection_status: { S: "sideways" },
              due_provider: { S: "simulator" },
              due_at: { N: String(DateTime.toEpochMillis(now) - 60_000) }
            }
          })
        )
      )
      yield* ConnectionStore.use((store) =>
        store.upsert(
          newConnection({
            userId: UserId.make("someone"),
            provider: SIMULATOR_PROVIDER_ID,
            credentials: null,
            backfillFrom: DateTime.subtract(now, { hours: 1 }),
            now
          })
        )
      )
      const first = yield* Scheduler.use((scheduler) => scheduler.runCycle)
      assert.deepStrictEqual([first.claimed, first.succeeded], [1, 1])
      const synced = yield* get("/api/bg/someone/connections")
      assert.isNotNull(synced.body[0].last_sync_at)
      // Set aside for good: the next cycles do not meet it again.
      const second = yield* Scheduler.use((scheduler) => scheduler.runCycle)
      assert.strictEqual(second.claimed, 0)
    }).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core), Layer.provideMerge(stores))), Effect.scoped)
  })
})
