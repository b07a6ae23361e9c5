import {
  DynamoDbClient,
  makeDynamoCallBudget,
  makeDynamoConnectionStore,
  makeDynamoDbClientWithTable,
  makeDynamoReadingStore
} from "@bg-ingest/adapters/dynamodb"
import { ConnectionStore, makeWindow, ProviderId, type Reading, ReadingStore, readingKey } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Layer } from "effect"
import { callBudgetContract, ReplicaBudget } from "../../contracts/CallBudgetContract.ts"
import { connectionStoreContract } from "../../contracts/ConnectionStoreContract.ts"
import { nightscoutSiteStoreContract } from "../../contracts/NightscoutSiteStoreContract.ts"
import { oauthStateStoreContract } from "../../contracts/OAuthStateStoreContract.ts"
import { readingStoreContract } from "../../contracts/ReadingStoreContract.ts"
import { readingStoreModelTest } from "../../contracts/ReadingStoreModel.ts"
import { dynamoStoresLayer, type ScratchOptions } from "../../support/dynamodb.ts"
import { at, connection, plain, reading, series, T0, user } from "../../support/fixtures.ts"
import { connectionFaultSuites } from "./connectionFaults.ts"
import { type FaultPlan, type Injected, injectFaults, noInjections, writes } from "./faults.ts"

/** A second, independent store on the same table: another replica with its own SDK client. */
const replicaOf = Effect.fnUntraced(function* () {
  const first = yield* DynamoDbClient
  const second = yield* makeDynamoDbClientOnSameTable(first)
  return {
    readings: yield* makeDynamoReadingStore.pipe(Effect.provideService(DynamoDbClient, second)),
    connections: yield* makeDynamoConnectionStore.pipe(Effect.provideService(DynamoDbClient, second))
  }
})

const makeDynamoDbClientOnSameTable = (first: DynamoDbClient["Service"]) =>
  Effect.orDie(
    makeDynamoDbClientWithTable({ endpoint: first.endpoint, table: first.table, ensureTable: "require-existing" })
  )

const sum = (a: { inserted: number; updated: number; unchanged: number }, b: typeof a) => [
  a.inserted + b.inserted,
  a.updated + b.updated,
  a.unchanged + b.unchanged
]

/** Everything the DynamoDB adapter must show on one server: the port contracts, faults and two writers. */
export const dynamoDbSuites = (server: string, endpoint: () => string) => {
  readingStoreContract(`DynamoDB (${server})`, () => dynamoStoresLayer(endpoint()))
  connectionStoreContract(`DynamoDB (${server})`, () => dynamoStoresLayer(endpoint()))
  oauthStateStoreContract(`DynamoDB (${server})`, () => dynamoStoresLayer(endpoint()))
  nightscoutSiteStoreContract(`DynamoDB (${server})`, () => dynamoStoresLayer(endpoint()))
  // The other replica has its own SDK client on the same table.
  callBudgetContract(`DynamoDB (${server})`, () =>
    Layer.effect(
      ReplicaBudget,
      Effect.gen(function* () {
        const second = yield* makeDynamoDbClientOnSameTable(yield* DynamoDbClient)
        return yield* makeDynamoCallBudget.pipe(Effect.provideService(DynamoDbClient, second))
      })
    ).pipe(Layer.provideMerge(dynamoStoresLayer(endpoint())))
  )
  connectionFaultSuites(server, endpoint)
  // Each run creates a table: fewer runs than on the in-process adapters.
  readingStoreModelTest(`DynamoDB (${server})`, () => dynamoStoresLayer(endpoint()), { runs: 15, timeout: 120_000 })

  describe(`DynamoDB stores under faults (${server})`, () => {
    const withFaults = (plan: FaultPlan, injected: Injected, scratch: Omit<ScratchOptions, "instrument"> = {}) =>
      dynamoStoresLayer(endpoint(), { ...scratch, instrument: injectFaults(plan, injected) })

    it.live("throttling, unprocessed items and lost answers lose no reading and keep the counts right", () => {
      const injected = noInjections()
      const plan: FaultPlan = {
        throttle: (command, n) => (writes.has(command) || command.startsWith("Batch")) && n % 3 === 0,
        loseAnswer: (command, n) => writes.has(command) && n % 40 === 2,
        partialBatch: (command, n) => command.startsWith("Batch") && n % 2 === 1
      }
      return Effect.gen(function* () {
        const store = yield* ReadingStore
        const readings = series("u1", 600)
        const first = yield* store.putMany(readings)
        assert.deepStrictEqual([first.inserted, first.updated, first.unchanged], [600, 0, 0])
        assert.strictEqual(first.changes.length, 600)
        assert.isTrue(first.changes.every((change) => change.kind === "created"))
        const stored = yield* store.range(user("u1"), makeWindow(at(0), at(600 * 5)), 1000)
        assert.deepStrictEqual(plain(stored), plain(readings))

        const changed = readings.map((r, i) => (i % 6 === 0 ? { ...r, glucoseMgDl: r.glucoseMgDl + 1 } : r))
        const second = yield* store.putMany(changed)
        assert.deepStrictEqual([second.inserted, second.updated, second.unchanged], [0, 100, 500])
        assert.deepStrictEqual([second.changes.length, second.owed.length], [100, 500])

        yield* store.markPublished(changed)
        assert.deepStrictEqual(yield* store.unpublished(1000), [])
        const again = yield* store.putMany(changed)
        assert.deepStrictEqual([again.inserted, again.updated, again.unchanged, again.changes.length], [0, 0, 600, 0])

        assert.strictEqual(yield* store.deleteUser(user("u1")), 600)
        assert.deepStrictEqual(yield* store.range(user("u1"), makeWindow(at(0), at(600 * 5)), 1000), [])
        assert.isAbove(injected.throttled, 0)
        assert.isAbove(injected.lostAnswers, 0)
        assert.isAbove(injected.unprocessedItems, 0)
        assert.isAbove(injected.unprocessedKeys, 0)
      }).pipe(Effect.provide(withFaults(plan, injected)))
    })

    it.live("a few readings (single conditional writes) survive lost answers and throttling too", () => {
      const injected = noInjections()
      const plan: FaultPlan = {
        throttle: (command, n) => command === "UpdateItem" && n % 2 === 1,
        loseAnswer: (command) => command === "PutItem" || command === "UpdateItem",
        partialBatch: () => false
      }
      return Effect.gen(function* () {
        const store = yield* ReadingStore
        const readings = series("u1", 10)
        const result = yield* store.putMany(readings)
        assert.deepStrictEqual([result.inserted, result.updated, result.unchanged], [10, 0, 0])
        const update = yield* store.putMany([reading("u1", 0, 300)])
        assert.deepStrictEqual([update.inserted, update.updated, update.unchanged], [0, 1, 0])
        assert.deepStrictEqual(
          update.changes.map((change) => [change.kind, change.reading.glucoseMgDl]),
          [["created", 300]]
        )
        assert.strictEqual(injected.lostAnswers, 11)
        assert.isAbove(injected.throttled, 0)
      }).pipe(Effect.provide(withFaults(plan, injected)))
    })

    it.live("throttling that never ends fails the call with a typed error after the bounded retries", () => {
      const injected = noInjections()
      const plan: FaultPlan = {
        throttle: (command) => writes.has(command),
        loseAnswer: () => false,
        partialBatch: () => false
      }
      return Effect.gen(function* () {
        const store = yield* ReadingStore
        const error = yield* Effect.flip(store.putMany(series("u1", 30)))
        assert.strictEqual(error._tag, "ReadingStoreError")
        assert.strictEqual(error.operation, "putMany")
        assert.match(error.message, /throttling/)
        assert.isAtLeast(injected.throttled, 3)
      }).pipe(
        Effect.provide(
          withFaults(plan, injected, { options: { tuning: { maxRetries: 2, baseDelayMillis: 1, maxDelayMillis: 5 } } })
        )
      )
    })

    it.live("items a batch write never processes fail deleteUser instead of being dropped", () => {
      const injected = noInjections()
      const plan: FaultPlan = {
        throttle: () => false,
        loseAnswer: () => false,
        partialBatch: (command) => command === "BatchWriteItem",
        processed: () => 0
      }
      return Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany(series("u1", 30))
        const error = yield* Effect.flip(store.deleteUser(user("u1")))
        assert.strictEqual(error.operation, "deleteUser")
        assert.match(error.message, /unprocessed/)
        assert.strictEqual((yield* store.range(user("u1"), makeWindow(at(0), at(1000)), 100)).length, 30)
      }).pipe(
        Effect.provide(
          withFaults(plan, injected, { options: { tuning: { maxRetries: 2, baseDelayMillis: 1, maxDelayMillis: 5 } } })
        )
      )
    })
  })

  describe(`DynamoDB stores with two writers at once (${server})`, () => {
    const twoWriters = (
      body: (a: ReadingStore["Service"], b: ReadingStore["Service"]) => Effect.Effect<void, unknown>
    ) =>
      Effect.gen(function* () {
        const a = yield* ReadingStore
        const { readings: b } = yield* replicaOf()
        yield* body(a, b)
      }).pipe(Effect.provide(dynamoStoresLayer(endpoint())))

    const overlapping = (userId: string, value: (index: number) => number, from: number, to: number): Array<Reading> =>
      Array.from({ length: to - from }, (_, offset) => reading(userId, (from + offset) * 5, value(from + offset)))

    it.live("the same readings from both: each one inserted exactly once", () =>
      twoWriters((a, b) =>
        Effect.gen(function* () {
          for (const userId of ["u1", "u2", "u3"]) {
            const [first, second] = yield* Effect.all(
              [
                a.putMany(overlapping(userId, (i) => 100 + (i % 50), 0, 600)),
                b.putMany(overlapping(userId, (i) => 100 + (i % 50), 300, 900).reverse())
              ],
              { concurrency: 2 }
            )
            assert.deepStrictEqual(sum(first, second), [900, 0, 300])
            assert.strictEqual(
              (yield* a.range(user(userId), makeWindow(at(0), at(900 * 5)), 2000)).length,
              900,
              `readings of ${userId}`
            )
          }
          assert.strictEqual((yield* a.unpublished(5000)).length, 2700)
        })
      )
    )

    it.live("different values for the same instants: one insert and one update each", () =>
      twoWriters((a, b) =>
        Effect.gen(function* () {
          const [first, second] = yield* Effect.all(
            [
              a.putMany(overlapping("u1", (i) => 100 + (i % 50), 0, 600)),
              b.putMany(overlapping("u1", (i) => 200 + (i % 50), 300, 900).reverse())
            ],
            { concurrency: 2 }
          )
          assert.deepStrictEqual(sum(first, second), [900, 300, 0])
          const stored = yield* a.range(user("u1"), makeWindow(at(0), at(900 * 5)), 2000)
          assert.strictEqual(stored.length, 900)
          assert.isTrue(stored.slice(0, 300).every((r) => r.glucoseMgDl < 150))
          assert.isTrue(stored.slice(600).every((r) => r.glucoseMgDl >= 200))
        })
      )
    )

    it.live("two replicas sweeping owed events at once take each one once", () =>
      Effect.gen(function* () {
        const a = yield* ReadingStore
        const { readings: b } = yield* replicaOf()
        yield* a.putMany(series("u1", 60))
        yield* a.putMany(series("u2", 40))
        const later = DateTime.add(yield* DateTime.now, { hours: 1 })
        const sweep = (store: typeof a) =>
          store.claimUnpublished({ limit: 1000, now: later, claim: Duration.minutes(1) })
        const [first, second] = yield* Effect.all([sweep(a), sweep(b)], { concurrency: 2 })
        const keys = [...first, ...second].map((change) => readingKey(change.reading))
        assert.strictEqual(keys.length, 100)
        assert.strictEqual(new Set(keys).size, 100, "an owed event was taken by both replicas")
        assert.deepStrictEqual(yield* sweep(a), [])
      }).pipe(Effect.provide(dynamoStoresLayer(endpoint())))
    )

    it.live("two replicas claiming due connections never take the same one", () =>
      Effect.gen(function* () {
        const a = yield* ConnectionStore
        const { connections: b } = yield* replicaOf()
        const providers = [ProviderId.make("dexcom")]
        yield* Effect.forEach(
          Array.from({ length: 50 }, (_, index) => connection(`user-${index}`, "dexcom", { nextPollAt: at(-index) })),
          (c) => a.upsert(c),
          { concurrency: 10 }
        )
        const leaseUntil = DateTime.add(T0, { minutes: 15 })
        const [first, second] = yield* Effect.all(
          [
            a.claimDue({ now: T0, leaseUntil, providers, limit: 30, holder: "replica-a" }),
            b.claimDue({ now: T0, leaseUntil, providers, limit: 30, holder: "replica-b" })
          ],
          { concurrency: 2 }
        )
        const claimed = [...first, ...second].map((c) => c.userId)
        assert.strictEqual(new Set(claimed).size, claimed.length, "a connection was claimed twice")
        assert.strictEqual(claimed.length, 50)
        assert.deepStrictEqual(
          yield* a.claimDue({ now: T0, leaseUntil, providers, limit: 10, holder: "replica-a" }),
          []
        )
      }).pipe(Effect.provide(dynamoStoresLayer(endpoint())))
    )
  })
}
