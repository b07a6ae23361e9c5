import { DEXCOM_PROVIDER_ID, TokenCipher } from "@bg-ingest/adapters"
import {
  CgmProvider,
  Connect,
  ConnectionStore,
  DataChanges,
  newConnection,
  OAuthStateStore,
  ProviderId,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { egvSeries } from "../../fakes/dexcomRecords.ts"
import { type FakeDexcom, fakeDexcom } from "../../fakes/FakeDexcomServer.ts"
import { dexcomServiceLayer, TEST_REDIRECT_URI } from "../../support/dexcom.ts"

const alice = UserId.make("alice")
const mallory = UserId.make("mallory")
const TOKEN = "/v2/oauth2/token"
const NOW = Date.UTC(2026, 1, 10, 12, 0, 0)

/** Another OAuth provider, to start an authorization that a Dexcom callback must refuse. */
const otherProvider = CgmProvider.of({
  id: ProviderId.make("other"),
  limits: {
    maxWindow: Duration.days(1),
    maxHistory: Option.none(),
    lateDataOverlap: Duration.zero,
    minPollInterval: Duration.minutes(1)
  },
  changes: () => Effect.succeed(DataChanges.CannotTell({})),
  fetchReadings: () => Effect.succeed({ readings: [], skippedWithoutValue: 0 }),
  authorization: {
    consentUrl: (state) => `https://other.example/consent?state=${state}`,
    exchangeCode: () => Effect.succeed("sealed")
  }
})

// No retries: a retry's backoff would sleep on the TestClock while the fake answers over real I/O.
const withConnect = <A, E>(body: (fake: FakeDexcom) => Effect.Effect<A, E, any>) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(NOW)
    const fake = yield* fakeDexcom({ redirectUris: [TEST_REDIRECT_URI] })
    fake.addUser("SandboxUser1", { records: egvSeries({ start: NOW - 3_600_000, count: 12 }).records })
    return yield* body(fake).pipe(
      Effect.provide(dexcomServiceLayer(fake, { extraProviders: [otherProvider], settings: { retries: 0 } }))
    )
  })

/** Starts an authorization for `userId` and plays the user on Dexcom's consent page. */
const consent = (fake: FakeDexcom, userId: UserId, allow = true) =>
  Effect.gen(function* () {
    const connect = yield* Connect
    const { consentUrl, browserBinding } = yield* connect.authorize(userId, "dexcom")
    const redirect = yield* Effect.promise(() => fake.consent(consentUrl, { username: "SandboxUser1", allow }))
    return {
      consentUrl: new URL(consentUrl),
      redirect,
      browserBinding,
      params: {
        code: redirect.searchParams.get("code") ?? undefined,
        state: redirect.searchParams.get("state") ?? undefined,
        error: redirect.searchParams.get("error") ?? undefined,
        browserBinding
      }
    }
  })

const connectionsOf = (userId: UserId) => ConnectionStore.use((store) => store.listForUser(userId))

describe("Connect with Dexcom", () => {
  it.effect("sends the user to Dexcom's consent page with an unguessable state, stored only as a hash", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const connect = yield* Connect
        const first = yield* connect.authorize(alice, "dexcom")
        const second = yield* connect.authorize(alice, "dexcom")
        const url = new URL(first.consentUrl)
        assert.strictEqual(`${url.origin}${url.pathname}`, `${fake.url}/v2/oauth2/login`)
        assert.deepStrictEqual(Object.fromEntries([...url.searchParams].filter(([name]) => name !== "state")), {
          client_id: fake.clientId,
          redirect_uri: TEST_REDIRECT_URI,
          response_type: "code",
          scope: "offline_access"
        })
        const state = url.searchParams.get("state")!
        assert.match(state, /^[A-Za-z0-9_-]{43}$/)
        assert.notStrictEqual(new URL(second.consentUrl).searchParams.get("state"), state)
        assert.strictEqual(DateTime.toEpochMillis(first.expiresAt), NOW + 600_000)
        // The store knows the state only by its hash.
        const states = yield* OAuthStateStore
        assert.isTrue(Option.isNone(yield* states.consume(state)))
      })
    )
  )

  it.effect("completes: exchanges the code, stores the tokens encrypted and an active connection due now", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const { params } = yield* consent(fake, alice)
        yield* TestClock.adjust("2 minutes")
        const connection = yield* (yield* Connect).complete("dexcom", params)
        assert.strictEqual(connection.userId, alice)
        assert.strictEqual(connection.status, "active")
        assert.strictEqual(DateTime.toEpochMillis(connection.nextPollAt!), NOW + 120_000)
        assert.strictEqual(DateTime.toEpochMillis(connection.backfillFrom), NOW + 120_000 - 90 * 86_400_000)
        assert.deepStrictEqual(
          [connection.syncedThrough, connection.lastError, connection.consecutiveFailures],
          [null, null, 0]
        )
        const [stored] = yield* connectionsOf(alice)
        assert.strictEqual(stored?.credentials, connection.credentials)
        const plaintext = yield* TokenCipher.use((cipher) => cipher.open(stored!.credentials!, `dexcom:${alice}`))
        assert.containsAllKeys(JSON.parse(plaintext), ["accessToken", "refreshToken", "accessTokenExpiresAt"])
        assert.strictEqual(fake.count(TOKEN, "authorization_code"), 1)
      })
    )
  )

  it.effect("refuses a state used twice", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const connect = yield* Connect
        const { params } = yield* consent(fake, alice)
        yield* connect.complete("dexcom", params)
        const replay = yield* Effect.flip(connect.complete("dexcom", params))
        assert.deepStrictEqual(
          [replay._tag, "reason" in replay && replay.reason],
          ["AuthorizationStateInvalid", "unknown_or_used"]
        )
        assert.strictEqual(fake.count(TOKEN, "authorization_code"), 1)
      })
    )
  )

  it.effect("refuses an expired state (10 minutes) and stores nothing", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const { params } = yield* consent(fake, alice)
        yield* TestClock.adjust("10 minutes")
        const error = yield* Effect.flip((yield* Connect).complete("dexcom", params))
        assert.deepStrictEqual(
          [error._tag, "reason" in error && error.reason],
          ["AuthorizationStateInvalid", "expired"]
        )
        assert.strictEqual(fake.count(TOKEN), 0)
        assert.deepStrictEqual(yield* connectionsOf(alice), [])
      })
    )
  )

  it.effect("refuses a state bound to another user, another provider, a missing or an unknown state", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const connect = yield* Connect
        const reason = (effect: Effect.Effect<unknown, { readonly _tag: string; readonly reason?: string }>) =>
          Effect.map(Effect.flip(effect), (error) => `${error._tag}:${error.reason ?? ""}`)

        const forAlice = yield* consent(fake, alice)
        assert.strictEqual(
          yield* reason(connect.complete("dexcom", { ...forAlice.params, expectedUserId: mallory })),
          "AuthorizationStateInvalid:wrong_user"
        )
        const otherStart = yield* connect.authorize(alice, "other")
        const other = new URL(otherStart.consentUrl).searchParams.get("state")!
        const withOtherState = yield* consent(fake, alice)
        assert.strictEqual(
          yield* reason(
            connect.complete("dexcom", {
              ...withOtherState.params,
              state: other,
              browserBinding: otherStart.browserBinding
            })
          ),
          "AuthorizationStateInvalid:wrong_provider"
        )
        assert.strictEqual(
          yield* reason(connect.complete("dexcom", { code: "x" })),
          "AuthorizationStateInvalid:missing"
        )
        // The consent was given in a browser that did not start the flow: without its binding, or with the
        // binding of another flow, nothing is linked.
        const started = yield* consent(fake, mallory)
        assert.strictEqual(
          yield* reason(connect.complete("dexcom", { ...started.params, browserBinding: undefined })),
          "AuthorizationStateInvalid:wrong_browser"
        )
        const own = yield* consent(fake, alice)
        assert.strictEqual(
          yield* reason(connect.complete("dexcom", { ...started.params, browserBinding: own.browserBinding })),
          "AuthorizationStateInvalid:wrong_browser"
        )
        assert.strictEqual(
          yield* reason(connect.complete("dexcom", { code: "x", state: "made-up", expectedUserId: alice })),
          "AuthorizationStateInvalid:unknown_or_used"
        )
        assert.strictEqual(fake.count(TOKEN), 0)
        assert.deepStrictEqual(yield* connectionsOf(alice), [])
        assert.deepStrictEqual(yield* connectionsOf(mallory), [])
      })
    )
  )

  it.effect("a user who declines (access_denied) gets a typed rejection; nothing is stored", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const connect = yield* Connect
        const { params } = yield* consent(fake, alice, false)
        assert.deepStrictEqual([params.error, params.code], ["access_denied", undefined])
        const error = yield* Effect.flip(connect.complete("dexcom", params))
        assert.deepStrictEqual(
          [error._tag, "reason" in error && error.reason],
          ["AuthorizationRejected", "access_denied"]
        )
        const other = yield* consent(fake, alice)
        const odd = yield* Effect.flip(
          connect.complete("dexcom", {
            state: other.params.state,
            error: "<script>alert(1)</script>",
            browserBinding: other.browserBinding
          })
        )
        assert.deepStrictEqual([odd._tag, "reason" in odd && odd.reason], ["AuthorizationRejected", "provider_error"])
        assert.notInclude(odd.message, "script")
        assert.deepStrictEqual(yield* connectionsOf(alice), [])
      })
    )
  )

  it.effect("a failed code exchange stores nothing: a refused code, Dexcom down", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const connect = yield* Connect
        const refused = yield* consent(fake, alice)
        const badCode = yield* Effect.flip(connect.complete("dexcom", { ...refused.params, code: "not-the-code" }))
        assert.deepStrictEqual(
          [badCode._tag, "reason" in badCode && badCode.reason],
          ["AuthorizationRejected", "invalid_code"]
        )

        const down = yield* consent(fake, alice)
        fake.inject({ kind: "status", status: 503 }, { path: TOKEN, times: 10 })
        const outage = yield* Effect.flip(connect.complete("dexcom", down.params))
        assert.strictEqual(outage._tag, "ProviderUnavailable")
        assert.deepStrictEqual(yield* connectionsOf(alice), [])
      })
    )
  )

  it.effect("re-authorizing a connection keeps its cursor and makes it active and due again", () =>
    withConnect((fake) =>
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        const earlier = DateTime.makeUnsafe(NOW - 30 * 86_400_000)
        yield* store.upsert({
          ...newConnection({
            userId: alice,
            provider: DEXCOM_PROVIDER_ID,
            backfillFrom: DateTime.makeUnsafe(NOW - 120 * 86_400_000),
            credentials: null,
            now: earlier
          }),
          status: "needs_reauthorization",
          syncedThrough: DateTime.makeUnsafe(NOW - 86_400_000),
          lastReadingAt: DateTime.makeUnsafe(NOW - 86_400_000 - 300_000),
          lastError: "Dexcom refused the refresh token",
          nextPollAt: null,
          consecutiveFailures: 3
        })
        const { params } = yield* consent(fake, alice)
        const connection = yield* (yield* Connect).complete("dexcom", params)
        assert.strictEqual(connection.status, "active")
        assert.strictEqual(DateTime.toEpochMillis(connection.syncedThrough!), NOW - 86_400_000)
        assert.strictEqual(DateTime.toEpochMillis(connection.backfillFrom), NOW - 120 * 86_400_000)
        assert.strictEqual(DateTime.toEpochMillis(connection.createdAt), DateTime.toEpochMillis(earlier))
        assert.deepStrictEqual([connection.lastError, connection.consecutiveFailures], [null, 0])
        assert.strictEqual(DateTime.toEpochMillis(connection.nextPollAt!), NOW)
        assert.isNotNull(connection.credentials)
      })
    )
  )

  it.effect("refuses providers that need no consent, and unknown ones", () =>
    withConnect(() =>
      Effect.gen(function* () {
        const connect = yield* Connect
        assert.strictEqual((yield* Effect.flip(connect.authorize(alice, "simulator")))._tag, "ProviderNotConnectable")
        assert.strictEqual((yield* Effect.flip(connect.authorize(alice, "nightscout")))._tag, "UnknownProvider")
        assert.strictEqual((yield* Effect.flip(connect.complete("simulator", {})))._tag, "ProviderNotConnectable")
      })
    )
  )
})
