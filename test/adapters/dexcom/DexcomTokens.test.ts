import {
  DEXCOM_PROVIDER_ID,
  InMemoryCallBudget,
  makeDexcomProvider,
  makeInMemoryConnectionStore
} from "@bg-ingest/adapters"
import { CgmProvider, ConnectionStore, ConnectionStoreError, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { egvSeries } from "../../fakes/dexcomRecords.ts"
import { type FakeDexcom, type FakeDexcomOptions, fakeDexcom } from "../../fakes/FakeDexcomServer.ts"
import { connectDirectly, dexcomProviderLayer, dexcomTestSettings, testTokenCipher } from "../../support/dexcom.ts"

const alice = UserId.make("alice")
const bob = UserId.make("bob")
const DATA_RANGE = "/v3/users/self/dataRange"
const TOKEN = "/v2/oauth2/token"
/** The records' first instant: fixed (the provider runs on TestClock; only its token times matter here). */
const RECORDS_START = Date.UTC(2026, 1, 10, 11)

/** A fake with two accounts, the provider on it, and alice (and bob) connected. */
const withDexcom = <A, E>(
  options: FakeDexcomOptions,
  body: (fake: FakeDexcom) => Effect.Effect<A, E, CgmProvider | ConnectionStore>
) =>
  Effect.gen(function* () {
    const fake = yield* fakeDexcom(options)
    const records = egvSeries({ start: RECORDS_START, count: 10 }).records
    fake.addUser("SandboxUser1", { records }).addUser("SandboxUser2", { records })
    return yield* Effect.gen(function* () {
      yield* connectDirectly(fake, alice, "SandboxUser1")
      yield* connectDirectly(fake, bob, "SandboxUser2")
      return yield* body(fake)
    }).pipe(Effect.provide(dexcomProviderLayer(fake)))
  })

const storedCredentials = (userId: UserId) =>
  Effect.gen(function* () {
    const store = yield* ConnectionStore
    return Option.getOrThrow(yield* store.get(userId, DEXCOM_PROVIDER_ID)).credentials
  })

/** Test time to just inside the 5 minutes before a 2-hour access token expires: its next use renews it. */
const nearExpiry = TestClock.adjust("116 minutes")

describe("Dexcom token lifecycle", () => {
  it.effect("stores tokens encrypted, never in the clear", () =>
    withDexcom({}, () =>
      Effect.gen(function* () {
        const credentials = yield* storedCredentials(alice)
        assert.match(credentials ?? "", /^v1\.[0-9a-f]{8}\./)
        assert.notInclude(credentials ?? "", "Token")
      })
    )
  )

  it.effect("renews a token close to expiry before using it, and stores the rotated pair", () =>
    withDexcom({}, (fake) =>
      Effect.gen(function* () {
        const provider = yield* CgmProvider
        const before = yield* storedCredentials(alice)
        assert.strictEqual((yield* provider.changes(alice, Option.none()))._tag, "Span")
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 0)
        yield* nearExpiry
        assert.strictEqual((yield* provider.changes(alice, Option.none()))._tag, "Span")
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 1)
        assert.notStrictEqual(yield* storedCredentials(alice), before)
        // The old refresh token is dead at Dexcom; the next renewal works only because the new one was stored.
        yield* nearExpiry
        yield* provider.changes(alice, Option.none())
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 2)
        assert.deepStrictEqual(
          fake.requests.filter((r) => r.path === TOKEN).map((r) => r.status),
          [200, 200, 200, 200]
        )
      })
    )
  )

  it.effect("never uses a renewed token it could not store; stores it first next time without renewing again", () =>
    Effect.gen(function* () {
      const fake = yield* fakeDexcom()
      fake.addUser("SandboxUser1", { records: egvSeries({ start: RECORDS_START, count: 5 }).records })
      let storeDown = false
      // A store whose credential writes fail while `storeDown`.
      const flakyStore = Layer.effect(
        ConnectionStore,
        Effect.map(makeInMemoryConnectionStore, (inner) =>
          ConnectionStore.of({
            ...inner,
            update: (userId, provider, patch) =>
              storeDown && patch.credentials !== undefined
                ? Effect.fail(new ConnectionStoreError({ operation: "update", message: "store down" }))
                : inner.update(userId, provider, patch)
          })
        )
      )
      const layer = Layer.effect(CgmProvider, makeDexcomProvider(dexcomTestSettings(fake))).pipe(
        Layer.provideMerge(Layer.mergeAll(flakyStore, InMemoryCallBudget.layer, testTokenCipher, FetchHttpClient.layer))
      )
      yield* Effect.gen(function* () {
        const provider = yield* CgmProvider
        yield* connectDirectly(fake, alice, "SandboxUser1")
        yield* nearExpiry
        storeDown = true
        const error = yield* Effect.flip(provider.changes(alice, Option.none()))
        assert.strictEqual(error._tag, "ProviderUnavailable")
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 1)
        assert.strictEqual(fake.count(DATA_RANGE), 0)
        storeDown = false
        yield* provider.changes(alice, Option.none())
        // The pair held in memory was stored and used: no second renewal (the first one's old token is dead).
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 1)
        assert.deepStrictEqual(
          fake.requests.filter((r) => r.path === DATA_RANGE).map((r) => r.status),
          [200]
        )
      }).pipe(Effect.provide(layer))
    })
  )

  it.effect("a renewal that lands after the user disconnected does not bring the tokens back", () =>
    Effect.gen(function* () {
      const fake = yield* fakeDexcom()
      fake.addUser("SandboxUser1", { records: egvSeries({ start: RECORDS_START, count: 5 }).records })
      // The user disconnects (DELETE) between the renewal's read of the tokens and its write of the new pair.
      const racingStore = Layer.effect(
        ConnectionStore,
        Effect.map(makeInMemoryConnectionStore, (inner) =>
          ConnectionStore.of({
            ...inner,
            update: (userId, provider, patch) =>
              patch.credentials !== undefined && patch.credentials !== null
                ? inner
                    .update(userId, provider, { status: "disconnected", credentials: null, nextPollAt: null })
                    .pipe(Effect.andThen(inner.update(userId, provider, patch)))
                : inner.update(userId, provider, patch)
          })
        )
      )
      const layer = Layer.effect(CgmProvider, makeDexcomProvider(dexcomTestSettings(fake))).pipe(
        Layer.provideMerge(
          Layer.mergeAll(racingStore, InMemoryCallBudget.layer, testTokenCipher, FetchHttpClient.layer)
        )
      )
      yield* Effect.gen(function* () {
        const provider = yield* CgmProvider
        yield* connectDirectly(fake, alice, "SandboxUser1")
        yield* nearExpiry
        const error = yield* Effect.flip(provider.changes(alice, Option.none()))
        assert.strictEqual(error._tag, "NeedsReauthorization")
        const connection = Option.getOrThrow(yield* (yield* ConnectionStore).get(alice, DEXCOM_PROVIDER_ID))
        assert.deepStrictEqual([connection.status, connection.credentials], ["disconnected", null])
        assert.strictEqual(fake.count(DATA_RANGE), 0)
      }).pipe(Effect.provide(layer))
    })
  )

  it.effect("renews at most once per user however many calls need it at once", () =>
    withDexcom({}, (fake) =>
      Effect.gen(function* () {
        const provider = yield* CgmProvider
        yield* nearExpiry
        const users = [alice, alice, alice, alice, alice, alice, bob, bob, bob, bob]
        const results = yield* Effect.forEach(users, (userId) => provider.changes(userId, Option.none()), {
          concurrency: "unbounded"
        })
        assert.strictEqual(results.filter((changes) => changes._tag === "Span").length, users.length)
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 2)
        assert.deepStrictEqual(
          fake.requests.filter((r) => r.path === TOKEN && r.grantType === "refresh_token").map((r) => r.status),
          [200, 200]
        )
      })
    )
  )

  it.effect("after a 401, renews once and calls again", () =>
    withDexcom({}, (fake) =>
      Effect.gen(function* () {
        const provider = yield* CgmProvider
        fake.expireAccessTokens("SandboxUser1")
        assert.strictEqual((yield* provider.changes(alice, Option.none()))._tag, "Span")
        assert.deepStrictEqual(
          fake.requests.filter((r) => r.path === DATA_RANGE).map((r) => r.status),
          [401, 200]
        )
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 1)
      })
    )
  )

  it.effect("a second 401 after renewing is an outage, not a loop", () =>
    withDexcom({}, (fake) =>
      Effect.gen(function* () {
        const provider = yield* CgmProvider
        fake.inject({ kind: "status", status: 401 }, { path: DATA_RANGE, times: 5 })
        const error = yield* Effect.flip(provider.changes(alice, Option.none()))
        assert.strictEqual(error._tag, "ProviderUnavailable")
        assert.strictEqual(fake.count(DATA_RANGE), 2)
        assert.strictEqual(fake.count(TOKEN, "refresh_token"), 1)
      })
    )
  )

  it.effect("a revoked grant (invalid_grant) needs re-authorization, after exactly one refresh attempt", () =>
    withDexcom({}, (fake) =>
      Effect.gen(function* () {
        const provider = yield* CgmProvider
        fake.revoke("SandboxUser1")
        const before = fake.requests.length
        const error = yield* Effect.flip(provider.changes(alice, Option.none()))
        assert.strictEqual(error._tag, "NeedsReauthorization")
        assert.include(error.message, "connect Dexcom again")
        assert.deepStrictEqual(
          fake.requests.slice(before).map((r) => [r.path, r.status]),
          [
            [DATA_RANGE, 401],
            [TOKEN, 400]
          ]
        )
        // bob is not affected.
        assert.strictEqual((yield* provider.changes(bob, Option.none()))._tag, "Span")
      })
    )
  )

  it.effect("when another replica rotated the token meanwhile, uses the stored one instead of giving up", () =>
    Effect.gen(function* () {
      const fake = yield* fakeDexcom()
      fake.addUser("SandboxUser1", { records: egvSeries({ start: RECORDS_START, count: 5 }).records })
      const store = yield* makeInMemoryConnectionStore
      const cipher = yield* Layer.build(testTokenCipher)
      const replica = (connections: ConnectionStore["Service"]) =>
        makeDexcomProvider(dexcomTestSettings(fake)).pipe(
          Effect.provideService(ConnectionStore, connections),
          Effect.provide(FetchHttpClient.layer),
          Effect.provide(InMemoryCallBudget.layer),
          Effect.provide(cipher)
        )
      const replicaA = yield* replica(store)
      yield* connectDirectly(fake, alice, "SandboxUser1").pipe(
        Effect.provideService(CgmProvider, replicaA),
        Effect.provideService(ConnectionStore, store)
      )
      const stale = Option.getOrThrow(yield* store.get(alice, DEXCOM_PROVIDER_ID))
      // Replica A renews (rotating the refresh token); replica B then reads what it read before A did, twice.
      yield* nearExpiry
      yield* replicaA.changes(alice, Option.none())
      let staleReads = 2
      const replicaB = yield* replica(
        ConnectionStore.of({
          ...store,
          get: (userId, provider) =>
            staleReads-- > 0 ? Effect.succeed(Option.some(stale)) : store.get(userId, provider)
        })
      )
      assert.strictEqual((yield* replicaB.changes(alice, Option.none()))._tag, "Span")
      assert.deepStrictEqual(
        fake.requests.filter((r) => r.path === TOKEN && r.grantType === "refresh_token").map((r) => r.status),
        [200, 400]
      )
    })
  )
})
