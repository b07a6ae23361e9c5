import {
  type Connection,
  ConnectionStore,
  OAuthStateStore,
  type PendingAuthorization,
  ProviderId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { dynamoStoresLayer } from "../../support/dynamodb.ts"
import { at, connection, T0, user } from "../../support/fixtures.ts"
import { type FaultPlan, type Injected, injectFaults, noInjections } from "./faults.ts"

const dexcom = ProviderId.make("dexcom")
const users = (count: number) => Array.from({ length: count }, (_, index) => `faulty-${index}`)
const asPlain = (found: Connection) => ({
  ...found,
  ...Object.fromEntries(
    Object.entries(found).map(([key, value]) => [
      key,
      DateTime.isDateTime(value) ? DateTime.toEpochMillis(value) : value
    ])
  )
})

const pending = (stateHash: string): PendingAuthorization => ({
  stateHash,
  userId: user("u1"),
  provider: dexcom,
  createdAt: at(0),
  expiresAt: at(10)
})

/**
 * The connection and OAuth-state stores under the faults DynamoDB really shows: throttling of reads, queries and
 * writes (the adapter's own retries), and answers lost after a conditional write landed (the SDK sends it again,
 * and the condition then sees the adapter's own first write).
 */
export const connectionFaultSuites = (server: string, endpoint: () => string) =>
  describe(`DynamoDB connection and OAuth-state stores under faults (${server})`, () => {
    /**
     * Stores on a fresh table whose faults follow `plan` only while `armed.on` is set, so a test can set its stage
     * up without them; `injected` counts what happened.
     */
    const faulty = (plan: FaultPlan) => {
      const armed = { on: false }
      const injected: Injected = noInjections()
      const layer = dynamoStoresLayer(endpoint(), {
        // Short pauses between retries: what is tested is that they happen, not how long they take.
        options: { tuning: { maxRetries: 8, baseDelayMillis: 1, maxDelayMillis: 10 } },
        instrument: injectFaults(
          {
            throttle: (command, n) => armed.on && plan.throttle(command, n),
            loseAnswer: (command, n) => armed.on && plan.loseAnswer(command, n),
            partialBatch: (command, n) => armed.on && plan.partialBatch(command, n)
          },
          injected
        )
      })
      return { armed, injected, layer }
    }

    it.live("throttled gets, queries and writes of connections still give the right answers", () => {
      const { armed, injected, layer } = faulty({
        throttle: (command, n) => ["GetItem", "Query", "PutItem", "UpdateItem"].includes(command) && n % 2 === 0,
        loseAnswer: () => false,
        partialBatch: () => false
      })
      return Effect.gen(function* () {
        const store = yield* ConnectionStore
        armed.on = true
        const all = users(12).map((id, index) =>
          connection(id, "dexcom", { nextPollAt: at(-index), status: index % 4 === 3 ? "error" : "active" })
        )
        yield* Effect.forEach(all, (c) => store.upsert(c), { concurrency: 4 })
        for (const expected of all) {
          assert.deepStrictEqual(
            asPlain(Option.getOrThrow(yield* store.get(expected.userId, dexcom))),
            asPlain(expected)
          )
          assert.deepStrictEqual(
            (yield* store.listForUser(expected.userId)).map(asPlain),
            [asPlain(expected)],
            "listForUser (a query)"
          )
        }
        const patched = yield* store.update(user("faulty-0"), dexcom, { lastError: "HTTP 503", consecutiveFailures: 2 })
        assert.deepInclude(Option.getOrThrow(patched), { lastError: "HTTP 503", consecutiveFailures: 2 })
        const counts = yield* store.countByStatus
        assert.deepInclude(counts, { active: 9, error: 3 })
        const claimed = yield* store.claimDue({
          now: T0,
          leaseUntil: DateTime.add(T0, { minutes: 15 }),
          providers: [dexcom],
          limit: 100,
          holder: "replica-a"
        })
        // Earliest due first; "error" is pollable too.
        assert.deepStrictEqual(
          claimed.map((c) => c.userId),
          users(12)
            .reverse()
            .map((id) => user(id))
        )
        assert.isAbove(injected.throttled, 10)
      }).pipe(Effect.provide(layer))
    })

    it.live(
      "a claim whose answer was lost is recognised by its retry: every due connection is claimed once, none hidden",
      () => {
        const { armed, injected, layer } = faulty({
          throttle: (command, n) => command === "Query" && n % 2 === 1,
          loseAnswer: (command, n) => command === "UpdateItem" && n % 3 === 1,
          partialBatch: () => false
        })
        return Effect.gen(function* () {
          const store = yield* ConnectionStore
          const ids = users(30)
          yield* Effect.forEach(
            ids,
            (id, index) => store.upsert(connection(id, "dexcom", { nextPollAt: at(-index) })),
            {
              concurrency: 8
            }
          )
          armed.on = true
          const leaseUntil = DateTime.add(T0, { minutes: 15 })
          const claim = (now: DateTime.Utc, holder: string) =>
            store.claimDue({ now, leaseUntil, providers: [dexcom], limit: 100, holder })
          const first = (yield* claim(T0, "replica-a")).map((c) => c.userId)
          assert.strictEqual(injected.lostAnswers, 10)
          // The SDK sent each claim whose answer was lost again; the retry found this holder's own lease and
          // took it: nothing waits a whole lease for nobody.
          assert.deepStrictEqual([...first].sort(), ids.map((id) => user(id)).sort())
          // Another replica finds nothing due before the lease ends, and all of them after.
          assert.deepStrictEqual(yield* claim(DateTime.add(T0, { minutes: 14 }), "replica-b"), [])
          armed.on = false
          const after = (yield* claim(leaseUntil, "replica-b")).map((c) => c.userId)
          assert.strictEqual(after.length, 30)
        }).pipe(Effect.provide(layer))
      }
    )

    it.live("renewals and releases whose answers were lost still count as done", () => {
      const { armed, injected, layer } = faulty({
        throttle: (command, n) => command === "UpdateItem" && n % 2 === 0,
        loseAnswer: (command) => command === "UpdateItem",
        partialBatch: () => false
      })
      return Effect.gen(function* () {
        const store = yield* ConnectionStore
        yield* store.upsert(connection("faulty-0", "dexcom", { nextPollAt: at(-1) }))
        yield* store.upsert(connection("faulty-1", "dexcom", { nextPollAt: at(-1) }))
        const leaseUntil = at(15)
        yield* store.claimDue({ now: T0, leaseUntil, providers: [dexcom], limit: 10, holder: "replica-a" })
        armed.on = true
        const held = (id: string) => ({ userId: user(id), provider: dexcom, holder: "replica-a", until: leaseUntil })
        assert.isTrue(yield* store.renewLease(held("faulty-0"), at(30)))
        assert.isTrue(yield* store.releaseLease(held("faulty-1"), T0))
        assert.strictEqual(injected.lostAnswers, 2)
        assert.isAbove(injected.throttled, 0)
        armed.on = false
        const nextPoll = (id: string) =>
          Effect.map(store.get(user(id), dexcom), (found) =>
            DateTime.toEpochMillis(Option.getOrThrow(found).nextPollAt!)
          )
        assert.deepStrictEqual(
          [yield* nextPoll("faulty-0"), yield* nextPoll("faulty-1")],
          [DateTime.toEpochMillis(at(30)), DateTime.toEpochMillis(T0)]
        )
        const taken = yield* store.claimDue({ now: T0, leaseUntil, providers: [dexcom], limit: 10, holder: "b" })
        assert.deepStrictEqual(
          taken.map((c) => c.userId),
          [user("faulty-1")]
        )
      }).pipe(Effect.provide(layer))
    })

    it.live("an OAuth state under throttling is consumed exactly once", () => {
      const { armed, injected, layer } = faulty({
        throttle: (command, n) => ["PutItem", "UpdateItem", "DeleteItem"].includes(command) && n % 2 === 1,
        loseAnswer: () => false,
        partialBatch: () => false
      })
      return Effect.gen(function* () {
        const states = yield* OAuthStateStore
        armed.on = true
        const hashes = Array.from({ length: 6 }, (_, index) => String(index).repeat(64))
        yield* Effect.forEach(hashes, (hash) => states.put(pending(hash)), { concurrency: 3 })
        for (const hash of hashes) {
          assert.strictEqual(Option.getOrThrow(yield* states.consume(hash)).stateHash, hash)
          assert.isTrue(Option.isNone(yield* states.consume(hash)), "consumed twice")
        }
        assert.isAbove(injected.throttled, 4)
      }).pipe(Effect.provide(layer))
    })

    it.live("a consume whose answer was lost is recognised by its retry: the state is given out once, not lost", () => {
      const { armed, injected, layer } = faulty({
        throttle: () => false,
        loseAnswer: (command) => command === "UpdateItem" || command === "DeleteItem",
        partialBatch: () => false
      })
      return Effect.gen(function* () {
        const states = yield* OAuthStateStore
        const hash = "f".repeat(64)
        yield* states.put(pending(hash))
        armed.on = true
        // The take landed and its answer was lost; the SDK's retry finds this consume's own mark and gets the
        // state. The delete's answer is lost too: its retry finds nothing to delete, which changes nothing.
        assert.strictEqual(Option.getOrThrow(yield* states.consume(hash)).stateHash, hash)
        assert.strictEqual(injected.lostAnswers, 2)
        assert.isTrue(Option.isNone(yield* states.consume(hash)), "given out twice")
        armed.on = false
        assert.isTrue(Option.isNone(yield* states.consume(hash)))
      }).pipe(Effect.provide(layer))
    })

    it.live("a state whose delete failed after it was taken is never given out again", () => {
      const { armed, layer } = faulty({
        // Every delete throttled past the adapter's retries.
        throttle: (command) => command === "DeleteItem",
        loseAnswer: () => false,
        partialBatch: () => false
      })
      return Effect.gen(function* () {
        const states = yield* OAuthStateStore
        const hash = "e".repeat(64)
        yield* states.put(pending(hash))
        armed.on = true
        assert.strictEqual(Option.getOrThrow(yield* states.consume(hash)).stateHash, hash)
        armed.on = false
        assert.isTrue(Option.isNone(yield* states.consume(hash)))
      }).pipe(Effect.provide(layer))
    })

    it.live("cursor saves and outcomes under throttling and lost answers are kept, field for field", () => {
      const { armed, injected, layer } = faulty({
        throttle: (command, n) => ["GetItem", "UpdateItem"].includes(command) && n % 2 === 0,
        loseAnswer: (command, n) => command === "UpdateItem" && n % 2 === 1,
        partialBatch: () => false
      })
      return Effect.gen(function* () {
        const store = yield* ConnectionStore
        yield* store.upsert(connection("faulty-0", "dexcom", { nextPollAt: at(-1) }))
        yield* store.claimDue({ now: T0, leaseUntil: at(15), providers: [dexcom], limit: 10, holder: "a" })
        armed.on = true
        // A backfill's cursor saves, piece by piece, then its outcome; and a status-only patch (read, then
        // conditional on the next poll read), whose retry after a lost answer still finds it as read.
        for (let piece = 1; piece <= 4; piece++) {
          const saved = yield* store.update(user("faulty-0"), dexcom, {
            syncedThrough: at(piece * 60),
            lastReadingAt: at(piece * 60 - 5),
            updatedAt: at(piece)
          })
          assert.strictEqual(
            DateTime.toEpochMillis(Option.getOrThrow(saved).syncedThrough!),
            DateTime.toEpochMillis(at(piece * 60))
          )
        }
        yield* store.update(user("faulty-0"), dexcom, { status: "error", lastError: "HTTP 503" })
        yield* store.update(user("faulty-0"), dexcom, {
          status: "active",
          lastError: null,
          consecutiveFailures: 0,
          nextPollAt: at(30),
          lastSyncAt: at(5),
          updatedAt: at(5)
        })
        assert.isAbove(injected.lostAnswers, 2)
        assert.isAbove(injected.throttled, 2)
        armed.on = false
        const final = Option.getOrThrow(yield* store.get(user("faulty-0"), dexcom))
        assert.deepStrictEqual(
          [final.status, final.lastError, final.consecutiveFailures].concat(
            [final.syncedThrough, final.lastReadingAt, final.nextPollAt, final.lastSyncAt].map((instant) =>
              DateTime.toEpochMillis(instant!)
            )
          ),
          ["active", null, 0, ...[at(240), at(235), at(30), at(5)].map(DateTime.toEpochMillis)]
        )
        // Due again at its next poll, not before, and for one replica.
        assert.deepStrictEqual(
          yield* store.claimDue({ now: at(29), leaseUntil: at(45), providers: [dexcom], limit: 10, holder: "b" }),
          []
        )
        assert.strictEqual(
          (yield* store.claimDue({ now: at(30), leaseUntil: at(45), providers: [dexcom], limit: 10, holder: "b" }))
            .length,
          1
        )
      }).pipe(Effect.provide(layer))
    })
  })
