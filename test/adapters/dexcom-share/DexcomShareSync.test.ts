import { readFileSync } from "node:fs"
import {
  DEXCOM_SHARE_PROVIDER_ID,
  InMemoryConnectionStore,
  InMemoryEventLog,
  makeDexcomShareProvider,
  SqliteDatabase,
  TokenCipher
} from "@bg-ingest/adapters"
import {
  CgmProviders,
  ConnectionStore,
  makeWindow,
  type Reading,
  ReadingStore,
  Scheduler,
  Sync,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { type FakeShare, type FakeShareOptions, fakeShare, SHARE_PATHS } from "../../fakes/FakeShareServer.ts"
import {
  type ExpectedShareReading,
  impossibleShareRecord,
  type ShareFormat,
  shareSeries
} from "../../fakes/shareRecords.ts"
import { instant, type ManualClock, manualClock } from "../../support/clock.ts"
import { testCrypto } from "../../support/crypto.ts"
import { testTokenCipher } from "../../support/dexcom.ts"
import { connectShare, shareServiceLayer, shareTestSettings, storeShareConnection } from "../../support/dexcomShare.ts"
import { sqliteStoresLayer } from "../../support/sqlite.ts"

const alice = UserId.make("alice")
const bob = UserId.make("bob")
const HOUR = 3_600_000
const ALICE = "alice@example.org"
const PASSWORD = "Correct-Horse-Battery-7"

const asExpected = (reading: Reading): ExpectedShareReading => ({
  epochSeconds: DateTime.toEpochMillis(reading.timestamp) / 1000,
  glucoseMgDl: reading.glucoseMgDl,
  trend: reading.trend,
  status: reading.status as ExpectedShareReading["status"],
  displayTime: reading.displayTime
})

/** The instant the tests run at: the service, the fake and the records all read this clock. */
const NOW = instant("2026-02-10T12:00:00Z")

const stored = (userId: UserId) =>
  ReadingStore.use((store) => store.range(userId, makeWindow(at(NOW - 100 * HOUR), at(NOW + HOUR)), 100_000)).pipe(
    Effect.map((readings) => readings.map(asExpected))
  )

const at = (millis: number) => DateTime.makeUnsafe(millis)

const providerOf = CgmProviders.use((providers) => providers.get("dexcom-share"))

/** Why a connect was refused: the `reason` of a `CredentialsRejected`, else the error's tag. */
const refusal = (error: { readonly _tag: string }) => ("reason" in error ? String(error.reason) : error._tag)

const connectionOf = (userId: UserId) =>
  ConnectionStore.use((store) => store.get(userId, DEXCOM_SHARE_PROVIDER_ID)).pipe(Effect.map(Option.getOrThrow))

/** Makes the connection due again, as the scheduler would after its interval. */
const due = (userId: UserId) =>
  Effect.flatMap(DateTime.now, (now) =>
    ConnectionStore.use((store) => store.update(userId, DEXCOM_SHARE_PROVIDER_ID, { nextPollAt: now }))
  )

/**
 * A day of Share values ending now: 23 hours within reach (with values without glucose, high/low and an impossible
 * one) and a few hours older than Share keeps, which must be neither asked for nor stored.
 */
const account = (now: number, format: ShareFormat = "modern") => {
  const recent = shareSeries({
    start: Math.floor((now - 23 * HOUR) / 1000) * 1000 + 13_000,
    count: 270,
    nullEvery: 13,
    highLowEvery: 17,
    wtOffsetEvery: 9,
    dtOffset: format === "modern" ? "-0400" : "+0900"
  })
  const old = shareSeries({ start: now - 30 * HOUR, count: 12 })
  return {
    records: [...old.records, ...recent.records, impossibleShareRecord(now - 2 * HOUR + 61_000)],
    expected: recent.expected
  }
}

const setUp = (
  body: (fake: FakeShare, now: number, clock: ManualClock) => Effect.Effect<void, unknown, any>,
  options: { readonly fake?: FakeShareOptions; readonly settings?: Parameters<typeof shareServiceLayer>[1] } = {}
) => {
  const clock = manualClock(NOW)
  return Effect.gen(function* () {
    const fake = yield* fakeShare({ ...options.fake, now: clock.now })
    yield* body(fake, NOW, clock).pipe(Effect.provide(shareServiceLayer(fake, options.settings)))
  }).pipe(clock.provide)
}

/** The Share provider alone, made by the test (replicas, restarts), on the fake and the test's clock. */
const withProviders = (body: (fake: FakeShare, now: number) => Effect.Effect<void, unknown, any>) => {
  const clock = manualClock(NOW)
  return Effect.gen(function* () {
    const fake = yield* fakeShare({ now: clock.now })
    yield* body(fake, NOW).pipe(Effect.provide(providerDependencies))
  }).pipe(clock.provide)
}

describe("Dexcom Share through the domain: connect, backfill, poll", () => {
  it.live("connecting stores exactly the valid values of the last 24 h; a second sync adds nothing; one login", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        const alices = account(now, "modern")
        const bobs = account(now, "legacy")
        fake.addAccount(ALICE, { password: PASSWORD, records: alices.records })
        fake.addAccount("bob@example.org", { password: "bobs-Password-1", records: bobs.records, format: "legacy" })

        const connected = yield* connectShare(alice, ALICE, PASSWORD)
        assert.isTrue(connected.created)
        assert.deepInclude(connected.connection, { status: "active", syncedThrough: null, lastError: null })
        // Share's history is 24 hours, shorter than BACKFILL_DAYS: the backfill starts there.
        assert.strictEqual(DateTime.toEpochMillis(connected.connection.backfillFrom), now - 24 * HOUR)
        assert.strictEqual(fake.loginAttempts(ALICE), 2, "account id, then session")

        const sync = yield* Sync
        const first = yield* sync.sync(alice, "dexcom-share")
        assert.deepStrictEqual(yield* stored(alice), alices.expected)
        assert.deepInclude(first, { windows: 1, inserted: alices.expected.length, updated: 0, rejected: 1 })
        assert.strictEqual(first.skippedWithoutValue, Math.floor(270 / 13))
        assert.strictEqual(fake.loginAttempts(ALICE), 2, "the session of the connect is used")
        const read = fake.requests.find((request) => request.path === SHARE_PATHS.glucose)
        assert.deepInclude(read, { minutes: "1440", maxCount: "288" })
        const events = yield* InMemoryEventLog.use((log) => log.events)
        assert.strictEqual(events.length, alices.expected.length)

        const second = yield* sync.sync(alice, "dexcom-share")
        assert.deepInclude(second, { inserted: 0, updated: 0, unchanged: alices.expected.length })
        assert.deepStrictEqual(yield* stored(alice), alices.expected)
        assert.strictEqual((yield* InMemoryEventLog.use((log) => log.events)).length, alices.expected.length)
        assert.strictEqual(fake.loginAttempts(ALICE), 2)

        yield* connectShare(bob, "bob@example.org", "bobs-Password-1")
        yield* sync.sync(bob, "dexcom-share")
        assert.deepStrictEqual(yield* stored(bob), bobs.expected, "the legacy format")
        const connection = yield* connectionOf(alice)
        assert.strictEqual(connection.status, "active")
        assert.strictEqual(
          DateTime.toEpochMillis(connection.lastReadingAt!),
          alices.expected.at(-1)!.epochSeconds * 1000
        )
      })
    )
  )

  it.live("a new value is fetched by the next poll; an expired or unknown session is renewed once, by account id", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        const series = shareSeries({ start: now - 10 * HOUR, count: 100 })
        fake.addAccount(ALICE, { password: PASSWORD, records: series.records })
        yield* connectShare(alice, ALICE, PASSWORD)
        const sync = yield* Sync
        yield* sync.sync(alice, "dexcom-share")

        fake.expireSessions()
        fake.addRecords(ALICE, shareSeries({ start: now - 60_000, count: 1, value: () => 123 }).records)
        const renewed = yield* sync.sync(alice, "dexcom-share")
        assert.deepInclude(renewed, { inserted: 1, updated: 0 })
        assert.strictEqual(fake.loginAttempts(ALICE), 3, "one login, by the account id already known")
        assert.strictEqual(fake.count("authenticate"), 1)

        fake.forgetSessions()
        assert.strictEqual((yield* sync.sync(alice, "dexcom-share")).inserted, 0)
        assert.strictEqual(fake.loginAttempts(ALICE), 4)
        assert.deepStrictEqual(
          fake.requests.filter((r) => r.code !== undefined).map((r) => r.code),
          ["SessionNotValid", "SessionIdNotFound"]
        )
      })
    )
  )

  it.live("a session refused again right after its renewal fails the sync without a second login", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD, records: shareSeries({ start: now - HOUR, count: 10 }).records })
        yield* connectShare(alice, ALICE, PASSWORD)
        fake.inject({ kind: "error", code: "SessionIdNotFound" }, { path: SHARE_PATHS.glucose, times: 2 })
        const error = yield* Effect.flip((yield* Sync).sync(alice, "dexcom-share"))
        assert.strictEqual(error._tag, "ProviderUnavailable")
        assert.include(error.message, "refused a session it had just opened")
        assert.strictEqual(fake.loginAttempts(ALICE), 3)
        const failed = yield* connectionOf(alice)
        assert.deepStrictEqual([failed.status, failed.consecutiveFailures], ["error", 1])
      })
    )
  )

  it.live("Share failing on a read is retried; failing on and on is an error with backoff; a 429 waits", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD, records: shareSeries({ start: now - HOUR, count: 10 }).records })
        yield* connectShare(alice, ALICE, PASSWORD)
        const sync = yield* Sync
        fake.inject({ kind: "error", code: "SSO_InternalError", message: "Internal" }, { path: SHARE_PATHS.glucose })
        fake.inject({ kind: "status", status: 503 }, { path: SHARE_PATHS.glucose })
        fake.inject({ kind: "reset" }, { path: SHARE_PATHS.glucose })
        assert.strictEqual((yield* sync.sync(alice, "dexcom-share")).inserted, 10)
        assert.strictEqual(fake.count("glucose"), 4)

        yield* due(alice)
        fake.inject({ kind: "status", status: 502 }, { path: SHARE_PATHS.glucose, times: 4 })
        assert.strictEqual((yield* Effect.flip(sync.sync(alice, "dexcom-share")))._tag, "ProviderUnavailable")
        const failing = yield* connectionOf(alice)
        assert.strictEqual(failing.status, "error")
        // The first failure's backoff: half to all of 30 seconds.
        const backoff = DateTime.toEpochMillis(failing.nextPollAt!) - now
        assert.isTrue(backoff >= 15_000 && backoff <= 30_000, `${backoff} ms`)

        yield* due(alice)
        fake.inject({ kind: "status", status: 429, retryAfter: "300" }, { path: SHARE_PATHS.glucose })
        assert.strictEqual((yield* Effect.flip(sync.sync(alice, "dexcom-share")))._tag, "RateLimited")
        const limited = yield* connectionOf(alice)
        assert.strictEqual(limited.status, "rate_limited")
        assert.strictEqual(DateTime.toEpochMillis(limited.nextPollAt!), now + 300_000)
        assert.strictEqual(fake.loginAttempts(ALICE), 2, "no failure of a read leads to a login")
      })
    )
  )
})

describe("Dexcom Share never loops on a login", () => {
  it.live(
    "a changed password: 20 syncs and scheduler cycles make exactly 1 login attempt, until the credentials are updated",
    () =>
      setUp((fake, now, clock) =>
        Effect.gen(function* () {
          const series = shareSeries({ start: now - 2 * HOUR, count: 20 })
          fake.addAccount(ALICE, { password: PASSWORD, records: series.records })
          yield* connectShare(alice, ALICE, PASSWORD)
          const sync = yield* Sync
          const scheduler = yield* Scheduler
          yield* sync.sync(alice, "dexcom-share")
          const before = fake.loginAttempts(ALICE)

          // The user changes their Dexcom password; Share ends the old session.
          fake.setPassword(ALICE, "A-New-Password-2")
          fake.expireSessions()
          const failures = []
          for (let i = 0; i < 20; i++) {
            failures.push((yield* Effect.flip(sync.sync(alice, "dexcom-share")))._tag)
            yield* scheduler.runCycle
          }
          assert.strictEqual(fake.loginAttempts(ALICE), before + 1)
          assert.deepStrictEqual(failures, ["NeedsReauthorization", ...Array(19).fill("ConnectionNotPollable")])
          const stopped = yield* connectionOf(alice)
          assert.deepStrictEqual([stopped.status, stopped.nextPollAt], ["needs_reauthorization", null])
          assert.include(stopped.lastError ?? "", "refused the username or password (AccountPasswordInvalid)")
          assert.include(stopped.lastError ?? "", "no login is tried until the credentials are updated")
          assert.isFalse(fake.isLocked(ALICE))

          // The adapter itself will not try these credentials again either, whoever asks.
          const provider = yield* providerOf
          for (let i = 0; i < 20; i++) {
            const error = yield* Effect.flip(provider.fetchReadings(alice, makeWindow(at(now - HOUR), at(now))))
            assert.strictEqual(error._tag, "NeedsReauthorization")
          }
          const again = yield* Effect.flip(connectShare(alice, ALICE, PASSWORD))
          assert.deepInclude(again, { _tag: "CredentialsRejected", reason: "recently_refused" })
          assert.strictEqual(fake.loginAttempts(ALICE), before + 1)

          // Once the wait after a refusal (any password, 5 minutes) has passed, new credentials: one login checks
          // them, and polling resumes from the cursor.
          clock.adjust("5 minutes")
          const updated = yield* connectShare(alice, ALICE, "A-New-Password-2")
          assert.isFalse(updated.created)
          assert.strictEqual(updated.connection.status, "active")
          fake.addRecords(ALICE, shareSeries({ start: now - 30_000, count: 1, value: () => 140 }).records)
          assert.deepInclude(yield* sync.sync(alice, "dexcom-share"), { windows: 1, inserted: 1 })
          assert.strictEqual(fake.loginAttempts(ALICE), before + 3)
        })
      )
  )

  it.live("wrong credentials at connect store nothing, and the same ones are not tried again", () =>
    setUp((fake) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD })
        const wrong = yield* Effect.flip(connectShare(alice, ALICE, "not-the-password"))
        assert.deepInclude(wrong, { _tag: "CredentialsRejected", reason: "invalid_credentials" })
        assert.include(wrong.message, "AccountPasswordInvalid")
        for (let i = 0; i < 5; i++) {
          const repeated = yield* Effect.flip(connectShare(alice, ` ${ALICE.toUpperCase()} `, "not-the-password"))
          assert.deepInclude(repeated, { _tag: "CredentialsRejected", reason: "recently_refused" })
          assert.match(repeated.message, /not tried again before \d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/)
        }
        assert.strictEqual(fake.loginAttempts(ALICE), 1)
        assert.isTrue(Option.isNone(yield* ConnectionStore.use((store) => store.get(alice, DEXCOM_SHARE_PROVIDER_ID))))
        // Another password right after a refusal is not tried either: guesses would lock the account.
        const other = yield* Effect.flip(connectShare(alice, ALICE, PASSWORD))
        assert.deepInclude(other, { _tag: "CredentialsRejected", reason: "recently_refused" })
        assert.include(other.message, "whatever the password")
        assert.strictEqual(fake.loginAttempts(ALICE), 1)
      })
    )
  )

  it.effect("three different wrong passwords make one login, not three: the account is never locked", () =>
    Effect.gen(function* () {
      const fake = yield* fakeShare({ lockAfter: 3 })
      fake.addAccount(ALICE, { password: PASSWORD })
      yield* Effect.gen(function* () {
        assert.strictEqual(refusal(yield* Effect.flip(connectShare(alice, ALICE, "guess-1"))), "invalid_credentials")
        for (const password of ["guess-2", "guess-3", PASSWORD]) {
          assert.strictEqual(refusal(yield* Effect.flip(connectShare(alice, ALICE, password))), "recently_refused")
        }
        assert.strictEqual(fake.loginAttempts(ALICE), 1)
        assert.isFalse(fake.isLocked(ALICE))

        // After the wait (5 minutes), one more try; each refusal in a row doubles the wait, whatever the password.
        yield* TestClock.adjust("5 minutes")
        assert.strictEqual(refusal(yield* Effect.flip(connectShare(alice, ALICE, "guess-2"))), "invalid_credentials")
        yield* TestClock.adjust("9 minutes")
        assert.strictEqual(refusal(yield* Effect.flip(connectShare(alice, ALICE, PASSWORD))), "recently_refused")
        assert.strictEqual(fake.loginAttempts(ALICE), 2)
        assert.isFalse(fake.isLocked(ALICE))
        yield* TestClock.adjust("1 minute")
        assert.isTrue((yield* connectShare(alice, ALICE, PASSWORD)).created)
        assert.isFalse(fake.isLocked(ALICE))
      }).pipe(Effect.provide(shareServiceLayer(fake, { settings: { retries: 0 } })))
    })
  )

  it.effect("an account Share says is locked: told clearly, never tried again before the backoff", () =>
    Effect.gen(function* () {
      const fake = yield* fakeShare({ lockAfter: 1 })
      fake.addAccount(ALICE, { password: PASSWORD })
      yield* Effect.gen(function* () {
        assert.strictEqual(refusal(yield* Effect.flip(connectShare(alice, ALICE, "guess-1"))), "invalid_credentials")
        assert.isTrue(fake.isLocked(ALICE))
        yield* TestClock.adjust("5 minutes")
        const locked = yield* Effect.flip(connectShare(alice, ALICE, PASSWORD))
        assert.deepInclude(locked, { _tag: "CredentialsRejected", reason: "account_locked" })
        assert.include(locked.message, "locked the account after too many failed logins")
        assert.strictEqual(fake.loginAttempts(ALICE), 2)
        for (let i = 0; i < 5; i++) {
          const held = yield* Effect.flip(connectShare(alice, ALICE, PASSWORD))
          assert.deepInclude(held, { _tag: "CredentialsRejected", reason: "account_locked" })
        }
        yield* TestClock.adjust("119 minutes")
        assert.strictEqual(refusal(yield* Effect.flip(connectShare(alice, ALICE, PASSWORD))), "account_locked")
        assert.strictEqual(fake.loginAttempts(ALICE), 2)

        fake.unlock(ALICE)
        yield* TestClock.adjust("2 minutes")
        assert.isTrue((yield* connectShare(alice, ALICE, PASSWORD)).created)
        assert.strictEqual(fake.loginAttempts(ALICE), 4)
      }).pipe(Effect.provide(shareServiceLayer(fake, { settings: { retries: 0 } })))
    })
  )

  it.live("a lockout met while polling stops the connection with a clear message", () =>
    setUp(
      (fake, now) =>
        Effect.gen(function* () {
          fake.addAccount(ALICE, { password: PASSWORD, records: shareSeries({ start: now - HOUR, count: 5 }).records })
          yield* connectShare(alice, ALICE, PASSWORD)
          fake.expireSessions()
          fake.inject(
            {
              kind: "error",
              code: "SSO_AuthenticateMaxAttemptsExceeed",
              message: "Maximum authentication attempts exceeded"
            },
            { path: SHARE_PATHS.login }
          )
          assert.strictEqual(
            (yield* Effect.flip((yield* Sync).sync(alice, "dexcom-share")))._tag,
            "NeedsReauthorization"
          )
          const stopped = yield* connectionOf(alice)
          assert.strictEqual(stopped.status, "needs_reauthorization")
          assert.include(stopped.lastError ?? "", "locked the account after too many failed logins")
        }),
      { fake: { lockAfter: 3 } }
    )
  )

  it.live("an all-zero account or session id is a refusal", () =>
    setUp((fake) =>
      Effect.gen(function* () {
        fake.addAccount("zero-account@example.org", { password: PASSWORD, zeroId: "account" })
        fake.addAccount("zero-session@example.org", { password: PASSWORD, zeroId: "session" })
        for (const [userId, username] of [
          [alice, "zero-account@example.org"],
          [bob, "zero-session@example.org"]
        ] as const) {
          const refused = yield* Effect.flip(connectShare(userId, username, PASSWORD))
          assert.deepInclude(refused, { _tag: "CredentialsRejected", reason: "invalid_credentials" })
          assert.include(refused.message, "all-zero id")
        }
      })
    )
  )

  it.live(
    "Share failing during a login is not retried, and the same credentials may be tried at the next attempt",
    () =>
      setUp((fake) =>
        Effect.gen(function* () {
          fake.addAccount(ALICE, { password: PASSWORD })
          fake.inject(
            { kind: "error", code: "SSO_InternalError", message: "Internal" },
            { path: SHARE_PATHS.authenticate }
          )
          const failed = yield* Effect.flip(connectShare(alice, ALICE, PASSWORD))
          assert.strictEqual(failed._tag, "ProviderUnavailable")
          assert.strictEqual(fake.count("authenticate"), 1)
          fake.inject({ kind: "status", status: 503 }, { path: SHARE_PATHS.login })
          assert.strictEqual((yield* Effect.flip(connectShare(alice, ALICE, PASSWORD)))._tag, "ProviderUnavailable")
          assert.strictEqual(fake.count("login"), 1)
          assert.isTrue((yield* connectShare(alice, ALICE, PASSWORD)).created)
        })
      )
  )
})

describe("Dexcom Share sessions", () => {
  it.live("concurrent reads of one user after the session expired open one new session between them", () =>
    withProviders((fake, now) =>
      Effect.gen(function* () {
        const series = shareSeries({ start: now - 5 * HOUR, count: 50 })
        fake.addAccount(ALICE, { password: PASSWORD, records: series.records })
        const provider = yield* makeDexcomShareProvider(shareTestSettings(fake))
        yield* storeShareConnection(provider, alice, ALICE, PASSWORD)
        fake.expireSessions()
        const window = makeWindow(at(now - 6 * HOUR), at(now))
        const results = yield* Effect.all(
          Array.from({ length: 8 }, () => provider.fetchReadings(alice, window)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          results.map((result) => result.readings.length),
          Array(8).fill(series.expected.length)
        )
        assert.strictEqual(fake.loginAttempts(ALICE), 3, "the connect's two steps, then one renewal")
      })
    )
  )

  it.live(
    "another replica (or a restart) logs in once for its own session; refused at once, it does not log in again",
    () =>
      withProviders((fake, now) =>
        Effect.gen(function* () {
          fake.addAccount(ALICE, { password: PASSWORD, records: shareSeries({ start: now - HOUR, count: 10 }).records })
          const first = yield* makeDexcomShareProvider(shareTestSettings(fake))
          const second = yield* makeDexcomShareProvider(shareTestSettings(fake))
          yield* storeShareConnection(first, alice, ALICE, PASSWORD)
          const window = makeWindow(at(now - 2 * HOUR), at(now))
          fake.inject({ kind: "error", code: "SessionIdNotFound" }, { path: SHARE_PATHS.glucose })
          const refused = yield* Effect.flip(second.fetchReadings(alice, window))
          assert.strictEqual(refused._tag, "ProviderUnavailable")
          assert.strictEqual(fake.loginAttempts(ALICE), 4, "two steps each")
          assert.strictEqual((yield* second.fetchReadings(alice, window)).readings.length, 10)
          assert.strictEqual((yield* first.fetchReadings(alice, window)).readings.length, 10)
          assert.strictEqual(fake.loginAttempts(ALICE), 4)
        })
      )
  )

  it.live("credentials are stored encrypted: neither the password nor the username is in the database", () =>
    setUp(
      (fake, now) =>
        Effect.gen(function* () {
          fake.addAccount(ALICE, { password: PASSWORD, records: shareSeries({ start: now - HOUR, count: 10 }).records })
          yield* connectShare(alice, ALICE, PASSWORD)
          assert.strictEqual((yield* (yield* Sync).sync(alice, "dexcom-share")).inserted, 10)
          const { db, filename } = yield* SqliteDatabase
          const rows = db.prepare("SELECT * FROM connections").all()
          assert.strictEqual(rows.length, 1)
          const credentials = String((rows[0] as { credentials: unknown }).credentials)
          assert.match(credentials, /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
          db.exec("PRAGMA wal_checkpoint(FULL)")
          for (const bytes of [JSON.stringify(rows), readFileSync(filename, "latin1")]) {
            assert.notInclude(bytes, PASSWORD)
            assert.notInclude(bytes, ALICE)
          }
          // What is stored is the credentials, sealed for this user: it opens with the key.
          const cipher = yield* TokenCipher
          const opened = JSON.parse(yield* cipher.open(credentials, `dexcom-share:${alice}`))
          assert.deepStrictEqual(opened, { username: ALICE, password: PASSWORD })
          assert.strictEqual(
            (yield* Effect.flip(cipher.open(credentials, `dexcom-share:${bob}`))).reason,
            "tampered",
            "bound to its user"
          )
        }),
      { settings: { stores: sqliteStoresLayer() } }
    )
  )
})

/** What a Share provider needs, for tests that make providers themselves (replicas, restarts). */
const providerDependencies = Layer.mergeAll(
  InMemoryConnectionStore.layer,
  testTokenCipher,
  FetchHttpClient.layer,
  testCrypto
)
