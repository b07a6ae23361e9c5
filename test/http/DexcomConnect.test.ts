import { dexcomWebhookFormat } from "@bg-ingest/adapters/dexcom"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { type ExpectedReading, egvSeries, impossibleRecord } from "../fakes/dexcomRecords.ts"
import { type FakeDexcom, fakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { instant, manualClock } from "../support/clock.ts"
import { alignedFiveMinutes, dexcomServiceLayer, TEST_REDIRECT_URI } from "../support/dexcom.ts"
import { del, get, post, postRaw, testServer } from "../support/server.ts"
import { webhookHeaders } from "../support/webhook.ts"

const DAY = 86_400_000

/** The test server's own URL, to make requests that must not follow redirects. */
const serverUrl = Effect.gen(function* () {
  const { address } = yield* HttpServer.HttpServer
  if (address._tag === "UnixPathAddress") return yield* Effect.die("expected a TCP server")
  return `http://127.0.0.1:${address.port}`
})

/** The instant the tests run at: the service, the fake and the records all read this clock. */
const NOW = instant("2026-02-10T12:00:00Z")

const withService = (
  body: (fake: FakeDexcom, now: number) => Effect.Effect<void, unknown, any>,
  apiKeys: ReadonlyArray<string> = []
) =>
  Effect.gen(function* () {
    const clock = manualClock(NOW)
    const fake = yield* fakeDexcom({ redirectUris: [TEST_REDIRECT_URI], now: clock.now })
    const core = dexcomServiceLayer(fake)
    yield* body(fake, NOW).pipe(
      Effect.provide(testServer(core, { formats: [dexcomWebhookFormat] }, apiKeys).pipe(Layer.provideMerge(core))),
      clock.provide
    )
  }).pipe(Effect.scoped)

/** GET without following redirects, as a test of a 302 must. */
const getManual = (path: string, headers: Record<string, string> = {}) =>
  Effect.flatMap(serverUrl, (base) =>
    Effect.promise(async () => {
      const response = await fetch(`${base}${path}`, { redirect: "manual", headers })
      return { status: response.status, headers: response.headers, text: await response.text() }
    })
  )

/** The cookie a browser keeps from an answer (name=value), as it would send it back. */
const cookieOf = (headers: Headers) => headers.get("set-cookie")?.split(";")[0] ?? ""

/** A browser starting an authorization: the consent page it is sent to, and the cookie it keeps. */
const startInBrowser = (userId: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const authorize = yield* getManual(`/api/connections/dexcom/authorize?user_id=${userId}`, headers)
    assert.strictEqual(authorize.status, 302)
    assert.strictEqual(authorize.headers.get("cache-control"), "no-store")
    return { consentUrl: authorize.headers.get("location")!, cookie: cookieOf(authorize.headers), authorize }
  })

/** authorize → (the user on Dexcom's consent page) → callback, as the user's browser goes through them. */
const connectOverHttp = (fake: FakeDexcom, userId: string, username: string, allow = true) =>
  Effect.gen(function* () {
    const { consentUrl, cookie } = yield* startInBrowser(userId)
    assert.isTrue(consentUrl.startsWith(`${fake.url}/v2/oauth2/login?`))
    const redirect = yield* Effect.promise(() => fake.consent(consentUrl, { username, allow }))
    assert.isTrue(redirect.toString().startsWith(`${TEST_REDIRECT_URI}?`))
    return yield* get(`/api/connections/dexcom/callback${redirect.search}`, { cookie })
  })

const json = (reading: ExpectedReading) => ({
  timestamp: new Date(reading.epochSeconds * 1000).toISOString().replace(".000Z", "Z"),
  glucose_mg_dl: reading.glucoseMgDl,
  trend: reading.trend,
  trend_rate: reading.trendRate,
  status: reading.status,
  source: "dexcom"
})

const isProblem = (answer: { status: number; contentType: string; body: any }, status: number, type: string) => {
  assert.strictEqual(answer.status, status, JSON.stringify(answer.body))
  assert.strictEqual(answer.contentType, "application/problem+json")
  assert.strictEqual(answer.body.type, type)
}

describe("connecting Dexcom over HTTP, end to end on loopback", () => {
  it.live("authorize → consent → callback → sync: latest and range answer exactly the fake's valid readings", () =>
    withService((fake, now) =>
      Effect.gen(function* () {
        const old = egvSeries({
          start: alignedFiveMinutes(now - 40 * DAY),
          count: 60,
          zoneLess: true,
          recordIdPrefix: "o"
        })
        const recent = egvSeries({
          start: alignedFiveMinutes(now - DAY),
          count: 250,
          nullEvery: 11,
          highLowEvery: 19,
          displayOffset: "+05:45",
          unknownFields: true
        })
        fake.addUser("SandboxUser1", {
          records: [...old.records, ...recent.records, impossibleRecord(alignedFiveMinutes(now - DAY) / 1000 + 7)]
        })
        const expected = [...old.expected, ...recent.expected].sort((a, b) => a.epochSeconds - b.epochSeconds)

        const callback = yield* connectOverHttp(fake, "alice", "SandboxUser1")
        assert.strictEqual(callback.status, 200, JSON.stringify(callback.body))
        assert.deepInclude(callback.body, { provider: "dexcom", user_id: "alice", status: "active" })
        assert.match(callback.body.backfill_from, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)

        const before = yield* get("/api/bg/alice/connections")
        assert.deepInclude(before.body[0], {
          provider: "dexcom",
          status: "active",
          backfill_complete: false,
          backfill_progress: 0,
          synced_through: null
        })
        assert.notInclude(JSON.stringify(before.body), "v1.")

        const sync = yield* post("/api/bg/alice/connections/dexcom/sync")
        assert.strictEqual(sync.status, 200, JSON.stringify(sync.body))
        assert.deepInclude(sync.body, { windows: 2, inserted: expected.length, updated: 0, rejected: 1 })

        const latest = yield* get("/api/bg/alice/latest")
        assert.deepStrictEqual(latest.body, json(expected.at(-1)!))
        const from = json(expected[0]!).timestamp
        const range = yield* get(`/api/bg/alice?from=${from}&to=${new Date(now + 60_000).toISOString()}`)
        assert.strictEqual(range.status, 200)
        assert.deepStrictEqual(range.body, expected.map(json))

        const again = yield* post("/api/bg/alice/connections/dexcom/sync")
        assert.deepInclude(again.body, { inserted: 0, updated: 0 })
        assert.deepStrictEqual((yield* get(`/api/bg/alice?from=${from}`)).body, expected.map(json))

        const after = yield* get("/api/bg/alice/connections")
        assert.deepInclude(after.body[0], { status: "active", backfill_complete: true, backfill_progress: 1 })
      })
    )
  )

  it.live("callback problems store nothing: a replayed state, a declined consent, a made-up state", () =>
    withService((fake, now) =>
      Effect.gen(function* () {
        fake.addUser("SandboxUser1", {
          records: egvSeries({ start: alignedFiveMinutes(now - DAY), count: 10 }).records
        })
        const denied = yield* connectOverHttp(fake, "bob", "SandboxUser1", false)
        isProblem(denied, 400, "urn:bg-ingest:problem:authorization-failed")
        assert.strictEqual(denied.body.reason, "access_denied")
        assert.deepStrictEqual((yield* get("/api/bg/bob/connections")).body, [])

        const made = yield* get("/api/connections/dexcom/callback?code=abc&state=made-up")
        isProblem(made, 400, "urn:bg-ingest:problem:authorization-failed")
        assert.strictEqual(made.body.reason, "wrong_browser")
        const missing = yield* get("/api/connections/dexcom/callback")
        assert.strictEqual(missing.body.reason, "missing")

        const { consentUrl, cookie } = yield* startInBrowser("carol")
        const redirect = yield* Effect.promise(() => fake.consent(consentUrl, { username: "SandboxUser1" }))
        assert.strictEqual((yield* get(`/api/connections/dexcom/callback${redirect.search}`, { cookie })).status, 200)
        const replay = yield* get(`/api/connections/dexcom/callback${redirect.search}`, { cookie })
        isProblem(replay, 400, "urn:bg-ingest:problem:authorization-failed")
        assert.strictEqual(replay.body.reason, "unknown_or_used")
      })
    )
  )

  it.live("authorize problems: a provider without consent, an unknown provider, a bad user id", () =>
    withService(() =>
      Effect.gen(function* () {
        isProblem(
          yield* get("/api/connections/simulator/authorize?user_id=alice"),
          400,
          "urn:bg-ingest:problem:provider-not-connectable"
        )
        isProblem(
          yield* get("/api/connections/libre/authorize?user_id=alice"),
          404,
          "urn:bg-ingest:problem:provider-not-configured"
        )
        const bad = yield* get("/api/connections/dexcom/authorize?user_id=not%20valid")
        assert.strictEqual(bad.status, 400)
        assert.include(bad.body.detail, "user_id")
        assert.strictEqual((yield* get("/api/connections/dexcom/authorize")).status, 400)
      })
    )
  )

  it.live("the connection list shows a revoked grant with its reason, and a rate limit with when it retries", () =>
    withService((fake, now) =>
      Effect.gen(function* () {
        const records = egvSeries({ start: alignedFiveMinutes(now - DAY), count: 20 }).records
        fake.addUser("SandboxUser1", { records }).addUser("SandboxUser2", { records })
        assert.strictEqual((yield* connectOverHttp(fake, "alice", "SandboxUser1")).status, 200)
        assert.strictEqual((yield* connectOverHttp(fake, "bob", "SandboxUser2")).status, 200)

        fake.revoke("SandboxUser1")
        fake.expireAccessTokens("SandboxUser1")
        const refused = yield* post("/api/bg/alice/connections/dexcom/sync")
        isProblem(refused, 409, "urn:bg-ingest:problem:connection-needs-attention")
        const [alice] = (yield* get("/api/bg/alice/connections")).body
        assert.strictEqual(alice.status, "needs_reauthorization")
        assert.strictEqual(alice.next_poll_at, null)
        assert.include(alice.last_error, "connect Dexcom again")

        // Connecting again clears the problem.
        assert.strictEqual((yield* connectOverHttp(fake, "alice", "SandboxUser1")).status, 200)
        const [again] = (yield* get("/api/bg/alice/connections")).body
        assert.deepInclude(again, { status: "active", last_error: null })

        // A 429 is Dexcom's limit for the whole application: every Dexcom call waits, connecting included.
        fake.inject({ kind: "status", status: 429, retryAfter: "300" }, { path: "/v3/users/self/dataRange" })
        const limited = yield* post("/api/bg/bob/connections/dexcom/sync")
        isProblem(limited, 429, "urn:bg-ingest:problem:provider-rate-limited")
        assert.strictEqual(limited.body.retry_after_seconds, 300)
        const [bob] = (yield* get("/api/bg/bob/connections")).body
        assert.strictEqual(bob.status, "rate_limited")
        assert.strictEqual(Date.parse(bob.next_poll_at), now + 300_000)
        isProblem(
          yield* connectOverHttp(fake, "carol", "SandboxUser1"),
          429,
          "urn:bg-ingest:problem:provider-rate-limited"
        )

        // Disconnecting forgets the tokens and stops polling.
        const calls = fake.requests.length
        assert.strictEqual((yield* del("/api/bg/alice/connections/dexcom")).status, 204)
        const [gone] = (yield* get("/api/bg/alice/connections")).body
        assert.deepInclude(gone, { status: "disconnected", next_poll_at: null })
        isProblem(
          yield* post("/api/bg/alice/connections/dexcom/sync"),
          409,
          "urn:bg-ingest:problem:connection-needs-attention"
        )
        assert.strictEqual(fake.requests.length, calls)
      })
    )
  )

  it.live("the webhook accepts a Dexcom EGV body pushed by a relay, read as the poller reads it", () =>
    withService((_, now) =>
      Effect.gen(function* () {
        const series = egvSeries({ start: alignedFiveMinutes(now - DAY), count: 30, unit: "mmol/L", nullEvery: 10 })
        const body = new TextEncoder().encode(JSON.stringify({ recordType: "egv", records: series.records }))
        const answer = yield* postRaw(
          "/api/bg/dana/webhook",
          body,
          webhookHeaders("/api/bg/dana/webhook", body, { timestamp: Math.floor(now / 1000) })
        )
        assert.strictEqual(answer.status, 202, JSON.stringify(answer.body))
        assert.deepInclude(answer.body, { received: 30, inserted: series.expected.length })
        const range = yield* get(`/api/bg/dana?from=${json(series.expected[0]!).timestamp}`)
        assert.deepStrictEqual(range.body, series.expected.map(json))
      })
    )
  )

  it.live("with API keys on, authorize needs a key; a browser's callback needs its cookie, an integrator's a key", () =>
    withService(
      (fake, now) =>
        Effect.gen(function* () {
          const records = egvSeries({ start: alignedFiveMinutes(now - DAY), count: 5 }).records
          fake.addUser("SandboxUser1", { records }).addUser("SandboxUser2", { records })
          const path = "/api/connections/dexcom/authorize?user_id=alice"
          isProblem(yield* get(path), 401, "urn:bg-ingest:problem:unauthorized")
          const key = { authorization: "Bearer key-for-the-frontend-0001" }
          const { consentUrl, cookie } = yield* startInBrowser("alice", key)
          const redirect = yield* Effect.promise(() => fake.consent(consentUrl, { username: "SandboxUser1" }))
          const callback = yield* get(`/api/connections/dexcom/callback${redirect.search}`, { cookie })
          assert.strictEqual(callback.status, 200, JSON.stringify(callback.body))

          // An integrator's backend finishing the flow names the user and holds a key; without the key it may not.
          const second = yield* startInBrowser("bob", key)
          const back = yield* Effect.promise(() => fake.consent(second.consentUrl, { username: "SandboxUser2" }))
          const unkeyed = yield* get(`/api/connections/dexcom/callback${back.search}&user_id=bob`)
          isProblem(unkeyed, 401, "urn:bg-ingest:problem:unauthorized")
          const keyed = yield* get(`/api/connections/dexcom/callback${back.search}&user_id=bob`, key)
          assert.strictEqual(keyed.status, 200, JSON.stringify(keyed.body))
          assert.strictEqual(keyed.body.user_id, "bob")
        }),
      ["key-for-the-frontend-0001"]
    )
  )
  it.live("consent finished in another person's browser links nothing: the flow is bound to its browser", () =>
    withService((fake, now) =>
      Effect.gen(function* () {
        fake.addUser("SandboxUser1", {
          records: egvSeries({ start: alignedFiveMinutes(now - DAY), count: 5 }).records
        })
        // Mallory starts an authorization for herself and sends the consent link to the victim, whose browser
        // comes back from Dexcom without Mallory's cookie (or with a cookie of the victim's own flow).
        const mallory = yield* startInBrowser("mallory")
        assert.match(mallory.cookie, /^bg_ingest_oauth=[0-9a-f]{64}$/)
        const setCookie = mallory.authorize.headers.get("set-cookie")!
        assert.match(setCookie, /HttpOnly/i)
        assert.match(setCookie, /SameSite=Lax/i)
        assert.match(setCookie, /Path=\/api\/connections\/dexcom\/callback/i)
        assert.match(setCookie, /Max-Age=(\d+)/i)
        assert.isAtMost(Number(/Max-Age=(\d+)/i.exec(setCookie)![1]), 600)
        const victimsRedirect = yield* Effect.promise(() =>
          fake.consent(mallory.consentUrl, { username: "SandboxUser1" })
        )
        const victim = yield* startInBrowser("victim")
        for (const headers of [{}, { cookie: victim.cookie }]) {
          const answer = yield* get(`/api/connections/dexcom/callback${victimsRedirect.search}`, headers)
          isProblem(answer, 400, "urn:bg-ingest:problem:authorization-failed")
          assert.strictEqual(answer.body.reason, "wrong_browser")
        }
        // Nor may anyone name a user the state does not belong to.
        const named = yield* get(`/api/connections/dexcom/callback${victimsRedirect.search}&user_id=victim`)
        isProblem(named, 400, "urn:bg-ingest:problem:authorization-failed")
        assert.strictEqual(named.body.reason, "wrong_user")
        assert.deepStrictEqual((yield* get("/api/bg/mallory/connections")).body, [])
        assert.deepStrictEqual((yield* get("/api/bg/victim/connections")).body, [])
        assert.strictEqual(fake.count("/v2/oauth2/token"), 0)
      })
    )
  )
})
