import { DEXCOM_SHARE_PROVIDER_ID } from "@bg-ingest/adapters/dexcom-share"
import { ConnectionStore, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { type FakeShare, fakeShare, SHARE_PATHS } from "../fakes/FakeShareServer.ts"
import { type ExpectedShareReading, impossibleShareRecord, shareSeries } from "../fakes/shareRecords.ts"
import { instant, manualClock } from "../support/clock.ts"
import { shareServiceLayer } from "../support/dexcomShare.ts"
import { del, get, post, putJson, testServer } from "../support/server.ts"

const HOUR = 3_600_000
const ALICE = "alice@example.org"
const PASSWORD = "Correct-Horse-Battery-7"
const API_KEY = "share-test-api-key-0123456789"
const CONNECTION = "/api/bg/alice/connections/dexcom-share"

/** The instant the tests run at: the service, the fake and the records all read this clock. */
const NOW = instant("2026-02-10T12:00:00Z")

const withService = (
  body: (fake: FakeShare, now: number) => Effect.Effect<void, unknown, any>,
  apiKeys: ReadonlyArray<string> = []
) =>
  Effect.gen(function* () {
    const clock = manualClock(NOW)
    const fake = yield* fakeShare({ now: clock.now })
    const core = shareServiceLayer(fake)
    yield* body(fake, NOW).pipe(
      Effect.provide(testServer(core, {}, apiKeys).pipe(Layer.provideMerge(core))),
      clock.provide
    )
  }).pipe(Effect.scoped)

const json = (reading: ExpectedShareReading) => ({
  timestamp: new Date(reading.epochSeconds * 1000).toISOString().replace(".000Z", "Z"),
  glucose_mg_dl: reading.glucoseMgDl,
  trend: reading.trend,
  trend_rate: null,
  status: reading.status,
  source: "dexcom-share"
})

const isProblem = (answer: { status: number; contentType: string; body: any }, status: number, type: string) => {
  assert.strictEqual(answer.status, status, JSON.stringify(answer.body))
  assert.strictEqual(answer.contentType, "application/problem+json")
  assert.strictEqual(answer.body.type, type)
}

/** Nothing an endpoint answers may carry the password, the username or the sealed credentials. */
const noSecrets = (answer: { body: unknown }) => {
  const text = JSON.stringify(answer.body)
  for (const secret of [PASSWORD, ALICE, "v1."]) assert.notInclude(text, secret)
}

const credentials = { username: ALICE, password: PASSWORD }

describe("connecting Dexcom Share over HTTP, end to end on loopback", () => {
  it.live(
    "PUT credentials → sync → latest and range are exactly the fake's valid readings; a second sync adds nothing",
    () =>
      withService((fake, now) =>
        Effect.gen(function* () {
          const series = shareSeries({
            start: Math.floor((now - 22 * HOUR) / 1000) * 1000 + 29_000,
            count: 260,
            nullEvery: 11,
            highLowEvery: 19
          })
          fake.addAccount(ALICE, {
            password: PASSWORD,
            records: [...series.records, impossibleShareRecord(now - HOUR + 7_000)],
            format: "legacy"
          })
          const expected = series.expected

          const created = yield* putJson(CONNECTION, credentials)
          assert.strictEqual(created.status, 201, JSON.stringify(created.body))
          assert.deepInclude(created.body, {
            provider: "dexcom-share",
            status: "active",
            synced_through: null,
            backfill_complete: false,
            last_error: null,
            consecutive_failures: 0
          })
          // Share keeps 24 hours: the backfill starts there, not BACKFILL_DAYS back.
          assert.strictEqual(Date.parse(created.body.backfill_from), now - 24 * HOUR)
          noSecrets(created)
          const listed = yield* get("/api/bg/alice/connections")
          assert.deepStrictEqual(listed.body, [created.body])
          noSecrets(listed)

          const sync = yield* post(`${CONNECTION}/sync`)
          assert.strictEqual(sync.status, 200, JSON.stringify(sync.body))
          assert.deepInclude(sync.body, { windows: 1, inserted: expected.length, updated: 0, rejected: 1 })
          assert.deepStrictEqual((yield* get("/api/bg/alice/latest")).body, json(expected.at(-1)!))
          const from = json(expected[0]!).timestamp
          const range = yield* get(`/api/bg/alice?from=${from}&to=${new Date(now + 60_000).toISOString()}`)
          assert.deepStrictEqual(range.body, expected.map(json))

          const again = yield* post(`${CONNECTION}/sync`)
          assert.deepInclude(again.body, { inserted: 0, updated: 0, unchanged: expected.length })
          assert.deepStrictEqual((yield* get(`/api/bg/alice?from=${from}`)).body, expected.map(json))
          assert.strictEqual(fake.loginAttempts(ALICE), 2, "the PUT's login serves the syncs")

          // Storing the credentials again answers 200 and keeps the connection's history.
          const replaced = yield* putJson(CONNECTION, credentials)
          assert.strictEqual(replaced.status, 200, JSON.stringify(replaced.body))
          assert.deepInclude(replaced.body, {
            status: "active",
            created_at: created.body.created_at,
            backfill_complete: true
          })
          noSecrets(replaced)
        })
      )
  )

  it.live("DELETE forgets the credentials: no sync, no login, until they are stored again", () =>
    withService((fake, now) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD, records: shareSeries({ start: now - HOUR, count: 10 }).records })
        assert.strictEqual((yield* putJson(CONNECTION, credentials)).status, 201)
        assert.strictEqual((yield* post(`${CONNECTION}/sync`)).body.inserted, 10)

        assert.strictEqual((yield* del(CONNECTION)).status, 204)
        const stored = yield* ConnectionStore.use((store) =>
          store.get(UserId.make("alice"), DEXCOM_SHARE_PROVIDER_ID)
        ).pipe(Effect.map(Option.getOrThrow))
        assert.deepStrictEqual([stored.status, stored.credentials, stored.nextPollAt], ["disconnected", null, null])
        const calls = fake.requests.length
        const refused = yield* post(`${CONNECTION}/sync`)
        isProblem(refused, 409, "urn:bg-ingest:problem:connection-needs-attention")
        assert.strictEqual(refused.body.connection_status, "disconnected")
        assert.strictEqual(fake.requests.length, calls)

        const reconnected = yield* putJson(CONNECTION, credentials)
        assert.strictEqual(reconnected.status, 200)
        assert.strictEqual(reconnected.body.status, "active")
        assert.deepInclude((yield* post(`${CONNECTION}/sync`)).body, { inserted: 0, unchanged: 10 })
      })
    )
  )

  it.live("refused credentials answer 400 with the reason, are not tried again, and store nothing", () =>
    withService((fake) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD })
        const wrong = yield* putJson(CONNECTION, { username: ALICE, password: "not-it" })
        isProblem(wrong, 400, "urn:bg-ingest:problem:credentials-rejected")
        assert.strictEqual(wrong.body.reason, "invalid_credentials")
        const again = yield* putJson(CONNECTION, { username: ALICE, password: "not-it" })
        isProblem(again, 400, "urn:bg-ingest:problem:credentials-rejected")
        assert.strictEqual(again.body.reason, "recently_refused")
        assert.strictEqual(fake.loginAttempts(ALICE), 1)
        assert.deepStrictEqual((yield* get("/api/bg/alice/connections")).body, [])
        for (const answer of [wrong, again]) assert.notInclude(JSON.stringify(answer.body), "not-it")
      })
    )
  )

  it.live("invalid bodies are 400 problems that never echo the password", () =>
    withService((fake) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD })
        const long = `${PASSWORD}${"x".repeat(300)}`
        for (const body of [
          {},
          { username: ALICE },
          { username: "   ", password: PASSWORD },
          { username: ALICE, password: "" },
          { username: ALICE, password: long },
          { username: ALICE, password: 12345678 },
          "not json"
        ]) {
          const answer = yield* putJson(CONNECTION, body)
          assert.strictEqual(answer.status, 400, JSON.stringify(body))
          assert.strictEqual(answer.contentType, "application/problem+json")
          assert.notInclude(JSON.stringify(answer.body), PASSWORD)
          assert.notInclude(JSON.stringify(answer.body), "12345678")
        }
        assert.strictEqual(fake.loginAttempts(ALICE), 0)
      })
    )
  )

  it.live("providers that take no credentials, unknown providers, Share failing or limiting", () =>
    withService((fake) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD })
        isProblem(
          yield* putJson("/api/bg/alice/connections/simulator", credentials),
          400,
          "urn:bg-ingest:problem:provider-takes-no-credentials"
        )
        isProblem(
          yield* putJson("/api/bg/alice/connections/libre", credentials),
          404,
          "urn:bg-ingest:problem:provider-not-configured"
        )
        const oauth = yield* get("/api/connections/dexcom-share/authorize?user_id=alice")
        isProblem(oauth, 400, "urn:bg-ingest:problem:provider-not-connectable")
        assert.include(oauth.body.detail, "connects with a username and password")
        fake.inject({ kind: "status", status: 503 }, { path: SHARE_PATHS.authenticate })
        isProblem(yield* putJson(CONNECTION, credentials), 502, "urn:bg-ingest:problem:provider-failed")
        fake.inject({ kind: "status", status: 429, retryAfter: "30" }, { path: SHARE_PATHS.authenticate })
        const limited = yield* putJson(CONNECTION, credentials)
        isProblem(limited, 429, "urn:bg-ingest:problem:provider-rate-limited")
        assert.strictEqual(limited.body.retry_after_seconds, 30)
        assert.deepStrictEqual((yield* get("/api/bg/alice/connections")).body, [])
      })
    )
  )

  it.live("with API keys the PUT needs one", () =>
    withService(
      (fake) =>
        Effect.gen(function* () {
          fake.addAccount(ALICE, { password: PASSWORD })
          isProblem(yield* putJson(CONNECTION, credentials), 401, "urn:bg-ingest:problem:unauthorized")
          isProblem(
            yield* putJson(CONNECTION, credentials, { authorization: "Bearer wrong-key-0123456789" }),
            401,
            "urn:bg-ingest:problem:unauthorized"
          )
          assert.strictEqual(fake.loginAttempts(ALICE), 0)
          const created = yield* putJson(CONNECTION, credentials, { authorization: `Bearer ${API_KEY}` })
          assert.strictEqual(created.status, 201)
        }),
      [API_KEY]
    )
  )
})
