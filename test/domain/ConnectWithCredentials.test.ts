import { makeSimulatorProvider } from "@bg-ingest/adapters/simulator"
import {
  CgmProvider,
  type CgmProviderShape,
  Connect,
  ConnectionStore,
  CredentialsRejected,
  DataChanges,
  type ProviderCredentials,
  ProviderId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { domainLayer } from "../support/domain.ts"
import { user } from "../support/fixtures.ts"

const NOW = Date.UTC(2026, 4, 1, 12, 0, 0)
const alice = user("alice")

const limits = (maxHistory: Option.Option<Duration.Duration>) => ({
  maxWindow: Duration.days(1),
  maxHistory,
  lateDataOverlap: Duration.zero,
  minPollInterval: Duration.minutes(5)
})

/** A provider that takes credentials: "right" is the only password it accepts; it seals them as a plain marker. */
const passwordProvider = (id: string, maxHistory: Option.Option<Duration.Duration>) => {
  const logins: Array<string> = []
  const provider = CgmProvider.of({
    id: ProviderId.make(id),
    limits: limits(maxHistory),
    changes: () => Effect.succeed(DataChanges.CannotTell({})),
    fetchReadings: () => Effect.succeed({ readings: [], skippedWithoutValue: 0 }),
    credentialsLogin: {
      verify: (userId, credentials: ProviderCredentials) => {
        logins.push(credentials.username)
        return Redacted.value(credentials.password) === "right"
          ? Effect.succeed(`sealed:${userId}:${logins.length}`)
          : Effect.fail(
              new CredentialsRejected({ provider: ProviderId.make(id), reason: "invalid_credentials", message: "no" })
            )
      }
    }
  }) satisfies CgmProviderShape
  return { provider, logins }
}

const oauthProvider = CgmProvider.of({
  id: ProviderId.make("oauth"),
  limits: limits(Option.none()),
  changes: () => Effect.succeed(DataChanges.CannotTell({})),
  fetchReadings: () => Effect.succeed({ readings: [], skippedWithoutValue: 0 }),
  authorization: {
    consentUrl: (state) => `https://oauth.example/?state=${state}`,
    exchangeCode: () => Effect.die("unused")
  }
})

const login = (password: string) => ({ username: "alice@example.org", password: Redacted.make(password) })

describe("Connect.connectWithCredentials", () => {
  it.effect("creates an active connection due now, backfilling as far as the provider's history allows", () => {
    const short = passwordProvider("short", Option.some(Duration.hours(24)))
    const long = passwordProvider("long", Option.none())
    return Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const connect = yield* Connect
      const first = yield* connect.connectWithCredentials(alice, "short", login("right"))
      assert.isTrue(first.created)
      assert.deepInclude(first.connection, { status: "active", credentials: "sealed:alice:1", syncedThrough: null })
      assert.strictEqual(DateTime.toEpochMillis(first.connection.backfillFrom), NOW - 24 * 3_600_000)
      assert.strictEqual(DateTime.toEpochMillis(first.connection.nextPollAt!), NOW)
      const other = yield* connect.connectWithCredentials(alice, "long", login("right"))
      // The test settings' backfill (the ConnectSettings default): 90 days.
      assert.strictEqual(DateTime.toEpochMillis(other.connection.backfillFrom), NOW - 90 * 86_400_000)
    }).pipe(Effect.provide(domainLayer([short.provider, long.provider])))
  })

  it.effect("new credentials for an existing connection replace the old ones and keep its cursor", () => {
    const { provider } = passwordProvider("short", Option.some(Duration.hours(24)))
    return Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const connect = yield* Connect
      const connections = yield* ConnectionStore
      yield* connect.connectWithCredentials(alice, "short", login("right"))
      const cursor = DateTime.makeUnsafe(NOW - 3_600_000)
      yield* connections.update(alice, provider.id, {
        status: "needs_reauthorization",
        syncedThrough: cursor,
        lastError: "refused",
        nextPollAt: null,
        consecutiveFailures: 3
      })
      yield* TestClock.adjust("1 hour")
      const again = yield* connect.connectWithCredentials(alice, "short", login("right"))
      assert.isFalse(again.created)
      assert.deepInclude(again.connection, {
        status: "active",
        credentials: "sealed:alice:2",
        lastError: null,
        consecutiveFailures: 0
      })
      assert.strictEqual(DateTime.toEpochMillis(again.connection.syncedThrough!), NOW - 3_600_000)
      assert.strictEqual(DateTime.toEpochMillis(again.connection.nextPollAt!), NOW + 3_600_000)
    }).pipe(Effect.provide(domainLayer([provider])))
  })

  it.effect("refused credentials store nothing; providers that take none say how they connect", () => {
    const { provider, logins } = passwordProvider("short", Option.none())
    return Effect.gen(function* () {
      const connect = yield* Connect
      const refused = yield* Effect.flip(connect.connectWithCredentials(alice, "short", login("wrong")))
      assert.strictEqual(refused._tag, "CredentialsRejected")
      assert.isTrue(Option.isNone(yield* ConnectionStore.use((store) => store.get(alice, provider.id))))
      assert.deepStrictEqual(logins, ["alice@example.org"])

      const simulator = yield* Effect.flip(connect.connectWithCredentials(alice, "simulator", login("right")))
      assert.deepInclude(simulator, { _tag: "ProviderNotConnectable" })
      assert.include(simulator.message, "needs no credentials")
      const oauth = yield* Effect.flip(connect.connectWithCredentials(alice, "oauth", login("right")))
      assert.include(oauth.message, "connects through OAuth")
      const authorize = yield* Effect.flip(connect.authorize(alice, "short"))
      assert.include(authorize.message, "connects with a username and password, not through OAuth")
      assert.strictEqual(
        (yield* Effect.flip(connect.connectWithCredentials(alice, "nope", login("right"))))._tag,
        "UnknownProvider"
      )
    }).pipe(Effect.provide(domainLayer([provider, oauthProvider, makeSimulatorProvider()])))
  })
})
