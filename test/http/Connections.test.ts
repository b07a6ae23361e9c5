import { makeSimulatorProvider, modelReadings, profileOf, SIMULATOR_PROVIDER_ID } from "@bg-ingest/adapters/simulator"
import {
  ConnectionStore,
  NeedsReauthorization,
  newConnection,
  type ProviderId,
  RateLimited,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Layer } from "effect"
import { manualClock } from "../support/clock.ts"
import { domainLayer } from "../support/domain.ts"
import { makeScriptedProvider } from "../support/ScriptedProvider.ts"
import { del, get, post, testServer } from "../support/server.ts"

const scripted = makeScriptedProvider()
const core = domainLayer([makeSimulatorProvider(), scripted.provider])

const connect = (userId: string, provider: ProviderId, hours = 24) =>
  Effect.gen(function* () {
    const now = yield* DateTime.now
    yield* ConnectionStore.use((store) =>
      store.upsert(
        newConnection({
          userId: UserId.make(userId),
          provider,
          backfillFrom: DateTime.subtract(now, { hours }),
          credentials: "encrypted-blob",
          now
        })
      )
    )
  })

/** The service's clock stands here, so what the simulator has measured by then is known exactly. */
const NOW = DateTime.makeUnsafe("2026-02-10T12:00:00Z")
const nowSeconds = DateTime.toEpochMillis(NOW) / 1000

const withServer = <A, E>(body: Effect.Effect<A, E, any>) =>
  body.pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped, manualClock(NOW).provide)

describe("connections over HTTP", () => {
  it.live("sync now fetches, stores and answers the counts; the list shows the connection's health", () =>
    withServer(
      Effect.gen(function* () {
        yield* connect("alice", SIMULATOR_PROVIDER_ID)
        const sync = yield* post("/api/bg/alice/connections/simulator/sync")
        assert.strictEqual(sync.status, 200)
        assert.strictEqual(sync.body.provider, "simulator")
        // Every reading the simulator measured for alice in the last 24 hours (its gaps and warm-ups excluded).
        const measured = modelReadings(profileOf("alice"), nowSeconds - 86_400, nowSeconds + 1)
        assert.deepInclude(sync.body, {
          received: measured.filter((record) => record.value !== null).length,
          inserted: measured.filter((record) => record.value !== null).length,
          skipped_without_value: measured.filter((record) => record.value === null).length
        })
        const again = yield* post("/api/bg/alice/connections/simulator/sync")
        assert.strictEqual(again.body.inserted, 0)

        const list = yield* get("/api/bg/alice/connections")
        assert.strictEqual(list.status, 200)
        assert.strictEqual(list.body.length, 1)
        const [connection] = list.body
        assert.strictEqual(connection.status, "active")
        assert.strictEqual(connection.last_error, null)
        assert.match(connection.last_sync_at, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
        assert.isString(connection.next_poll_at)
        assert.notProperty(connection, "credentials")
        assert.notInclude(JSON.stringify(list.body), "encrypted-blob")
        const latest = yield* get("/api/bg/alice/latest")
        assert.strictEqual(latest.body.timestamp, connection.last_reading_at)
      })
    )
  )

  it.live("sync problems: unknown provider, no connection, re-authorization needed, rate limited", () =>
    withServer(
      Effect.gen(function* () {
        const unknown = yield* post("/api/bg/alice/connections/nightscout/sync")
        assert.deepStrictEqual(
          [unknown.status, unknown.body.type],
          [404, "urn:bg-ingest:problem:provider-not-configured"]
        )
        const missing = yield* post("/api/bg/bob/connections/simulator/sync")
        assert.deepStrictEqual([missing.status, missing.body.type], [404, "urn:bg-ingest:problem:connection-not-found"])

        const carol = UserId.make("carol")
        scripted.setReadings(carol, [])
        scripted.setReportsRange(false)
        yield* connect("carol", scripted.provider.id)
        scripted.failNext(
          new RateLimited({ provider: scripted.provider.id, retryAfter: Duration.seconds(90), message: "HTTP 429" })
        )
        const limited = yield* post("/api/bg/carol/connections/scripted/sync")
        assert.deepStrictEqual([limited.status, limited.body.retry_after_seconds], [429, 90])
        const status = (yield* get("/api/bg/carol/connections")).body[0]
        assert.strictEqual(status.status, "rate_limited")
        assert.strictEqual(Date.parse(status.next_poll_at), DateTime.toEpochMillis(NOW) + 90_000)
        assert.strictEqual(status.last_error, "HTTP 429")

        scripted.failNext(new NeedsReauthorization({ provider: scripted.provider.id, message: "invalid_grant" }))
        const revoked = yield* post("/api/bg/carol/connections/scripted/sync")
        assert.deepStrictEqual([revoked.status, revoked.body.connection_status], [409, "needs_reauthorization"])
        const after = yield* post("/api/bg/carol/connections/scripted/sync")
        assert.deepStrictEqual([after.status, after.body.connection_status], [409, "needs_reauthorization"])
        const shown = (yield* get("/api/bg/carol/connections")).body[0]
        assert.deepStrictEqual(
          [shown.status, shown.next_poll_at, shown.last_error],
          ["needs_reauthorization", null, "invalid_grant"]
        )
      })
    )
  )

  it.live("disconnect forgets the credentials and stops polling; unknown connections are 404", () =>
    withServer(
      Effect.gen(function* () {
        yield* connect("dave", SIMULATOR_PROVIDER_ID)
        const answer = yield* del("/api/bg/dave/connections/simulator")
        assert.strictEqual(answer.status, 204)
        const stored = yield* ConnectionStore.use((store) => store.get(UserId.make("dave"), SIMULATOR_PROVIDER_ID))
        assert.strictEqual(stored._tag, "Some")
        if (stored._tag === "Some") {
          assert.strictEqual(stored.value.status, "disconnected")
          assert.isNull(stored.value.credentials)
          assert.isNull(stored.value.nextPollAt)
        }
        const sync = yield* post("/api/bg/dave/connections/simulator/sync")
        assert.deepStrictEqual([sync.status, sync.body.connection_status], [409, "disconnected"])
        assert.strictEqual((yield* del("/api/bg/erin/connections/simulator")).status, 404)
        assert.strictEqual((yield* del("/api/bg/erin/connections/NOT-A-PROVIDER")).status, 404)
      })
    )
  )
})
