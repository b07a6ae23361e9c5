import { LIBRE_LINK_UP_PROVIDER_ID } from "@bg-ingest/adapters"
import { CgmProviders, ConnectionStore, makeWindow, Scheduler, Sync, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Option } from "effect"
import {
  type FakeLibreLinkUp,
  type FakeLibreOptions,
  fakeLibreLinkUp,
  LIBRE_PATHS
} from "../../fakes/FakeLibreLinkUpServer.ts"
import { libreSensor } from "../../fakes/libreRecords.ts"
import { connectLibre, libreServiceLayer, sharedClock } from "../../support/libreLinkUp.ts"

const alice = UserId.make("alice")
const MINUTE = 60_000
const HOUR = 60 * MINUTE
const T0 = Date.UTC(2026, 6, 14, 9, 30, 0)
const ALICE = "alice@example.org"
const PASSWORD = "Correct-Horse-Battery-7"

const sensor = () => libreSensor({ start: T0 - 10 * HOUR + 23_000, count: 24 * 60 })

const setUp = (
  body: (fake: FakeLibreLinkUp, clock: ReturnType<typeof sharedClock>) => Effect.Effect<void, unknown, any>,
  options: { readonly fake?: FakeLibreOptions; readonly region?: string; readonly connect?: boolean } = {}
) =>
  Effect.gen(function* () {
    const clock = sharedClock(T0)
    yield* clock.start
    const fake = yield* fakeLibreLinkUp({ now: clock.now, ...options.fake })
    fake.addAccount(ALICE, {
      password: PASSWORD,
      region: options.region ?? "us",
      patients: [{ firstName: "A", lastName: "B", zone: "Europe/Berlin", sensor: sensor() }]
    })
    yield* Effect.gen(function* () {
      if (options.connect !== false) yield* connectLibre(alice, ALICE, PASSWORD)
      yield* body(fake, clock)
    }).pipe(Effect.provide(libreServiceLayer(fake, { settings: { retries: 0 } })))
  })

const sync = Sync.use((service) => service.sync(alice, "libre-link-up"))
const connection = ConnectionStore.use((store) => store.get(alice, LIBRE_LINK_UP_PROVIDER_ID)).pipe(
  Effect.map(Option.getOrThrow)
)
/** The login requests, as (server, answer's body status). */
const logins = (fake: FakeLibreLinkUp) =>
  fake.requests.filter((request) => request.path === LIBRE_PATHS.login).map((r) => `${r.server}:${r.bodyStatus}`)

/** Syncs `times` times `every` apart, running the scheduler each time; answers each sync's outcome. */
const pollMany = (clock: ReturnType<typeof sharedClock>, times: number, every: Duration.Input = "5 minutes") =>
  Effect.gen(function* () {
    const scheduler = yield* Scheduler
    const outcomes: Array<string> = []
    for (let i = 0; i < times; i++) {
      yield* clock.advance(every)
      outcomes.push(yield* sync.pipe(Effect.match({ onFailure: (e) => e._tag, onSuccess: () => "ok" })))
      yield* scheduler.runCycle
    }
    return outcomes
  })

describe("LibreLinkUp logins: redirect, steps, refusals", () => {
  it.effect("the region a redirect named is remembered: later logins go straight there", () =>
    setUp(
      (fake, clock) =>
        Effect.gen(function* () {
          assert.deepStrictEqual(logins(fake), ["global:0", "eu2:0"])
          fake.revokeTickets(ALICE)
          yield* clock.advance("5 minutes")
          assert.isAbove((yield* sync).inserted, 0)
          assert.deepStrictEqual(logins(fake), ["global:0", "eu2:0", "eu2:0"], "one login, at eu2")
          assert.deepStrictEqual(
            fake.requests.filter((r) => r.status === 401).map((r) => r.server),
            ["eu2"],
            "one refused read, then the new ticket"
          )
          // Every call carried the app's headers, and every authenticated one the follower's account-id.
          const accountId = (yield* Effect.promise(() => sha256(fake.userIdOf(ALICE)))) as string
          for (const request of fake.requests) {
            assert.deepInclude(request, { product: "llu.android", version: "4.16.0" })
            if (request.path.startsWith(LIBRE_PATHS.connections)) assert.strictEqual(request.accountId, accountId)
          }
        }),
      { region: "eu2" }
    )
  )

  it.effect("a redirect answered by the region too is not followed again: one failed sync, two requests", () =>
    setUp(
      (fake) =>
        Effect.gen(function* () {
          const redirect = JSON.stringify({ status: 0, data: { redirect: true, region: "eu" } })
          fake.inject({ kind: "status", status: 200, body: redirect }, { path: LIBRE_PATHS.login, times: 5 })
          const failed = yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD))
          assert.strictEqual(failed._tag, "ProviderUnavailable")
          assert.include(failed.message, "redirected the login again")
          assert.strictEqual(fake.count(LIBRE_PATHS.login), 2)
        }),
      { connect: false }
    )
  )

  it.effect(
    "new terms of use: a clear refusal at connect, never accepted for the user, polling stops until they are",
    () =>
      setUp(
        (fake, clock) =>
          Effect.gen(function* () {
            fake.setStep(ALICE, "tou")
            const refused = yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD))
            assert.deepInclude(refused, { _tag: "CredentialsRejected", reason: "action_required" })
            assert.include(refused.message, "accept the new terms of use (tou) in the LibreLinkUp app")
            assert.include(refused.message, "never does it for them")

            fake.setStep(ALICE, null)
            yield* connectLibre(alice, ALICE, PASSWORD)
            yield* sync
            // A new privacy policy appears later; the old ticket stops working.
            fake.setStep(ALICE, "pp")
            fake.revokeTickets(ALICE)
            const outcomes = yield* pollMany(clock, 20)
            assert.deepStrictEqual(outcomes, ["NeedsReauthorization", ...Array(19).fill("ConnectionNotPollable")])
            const stopped = yield* connection
            assert.deepStrictEqual([stopped.status, stopped.nextPollAt], ["needs_reauthorization", null])
            assert.include(stopped.lastError ?? "", "accept the new privacy policy (pp)")
            assert.strictEqual(fake.stepAcceptances, 0, "no step is ever accepted on the user's behalf")
            assert.deepStrictEqual(logins(fake).filter((l) => l.endsWith(":4")).length, 2)
            assert.strictEqual(fake.loginAttempts(ALICE), 3)
          }),
        { connect: false }
      )
  )

  it.effect("a changed password: 20 syncs and scheduler cycles make exactly 1 login attempt, until it is updated", () =>
    setUp((fake, clock) =>
      Effect.gen(function* () {
        yield* sync
        const before = fake.loginAttempts(ALICE)
        fake.setPassword(ALICE, "A-New-Password-2")
        fake.revokeTickets(ALICE)
        const outcomes = yield* pollMany(clock, 20, "1 minute")
        assert.deepStrictEqual(outcomes, ["NeedsReauthorization", ...Array(19).fill("ConnectionNotPollable")])
        assert.strictEqual(fake.loginAttempts(ALICE), before + 1)
        assert.isFalse(fake.isLocked(ALICE))
        const stopped = yield* connection
        assert.deepStrictEqual([stopped.status, stopped.nextPollAt], ["needs_reauthorization", null])
        assert.include(stopped.lastError ?? "", "refused the email or password")

        // The adapter itself does not try them again either, whoever asks (for its 30-minute backoff).
        const provider = yield* CgmProviders.use((providers) => providers.get("libre-link-up"))
        const window = makeWindow(DateTime.makeUnsafe(T0), DateTime.makeUnsafe(T0 + 2 * HOUR))
        for (let i = 0; i < 10; i++) {
          yield* clock.advance("30 seconds")
          assert.strictEqual((yield* Effect.flip(provider.fetchReadings(alice, window)))._tag, "NeedsReauthorization")
        }
        const again = yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD))
        assert.deepInclude(again, { _tag: "CredentialsRejected", reason: "recently_refused" })
        assert.strictEqual(fake.loginAttempts(ALICE), before + 1)

        const updated = yield* connectLibre(alice, ALICE, "A-New-Password-2")
        assert.isFalse(updated.created)
        assert.strictEqual((yield* sync).windows, 1)
        assert.strictEqual(fake.loginAttempts(ALICE), before + 2)
      })
    )
  )

  it.effect("wrong passwords at connect: each pair tried once, and never the third failure that would lock", () =>
    setUp(
      (fake, clock) =>
        Effect.gen(function* () {
          const reasons = []
          for (const password of ["guess-1", "guess-1", "guess-2", "guess-3", PASSWORD]) {
            const refused = yield* Effect.flip(connectLibre(alice, ALICE, password))
            reasons.push("reason" in refused ? refused.reason : refused._tag)
          }
          assert.deepStrictEqual(reasons, [
            "invalid_credentials",
            "recently_refused",
            "invalid_credentials",
            "recently_refused",
            "recently_refused"
          ])
          assert.strictEqual(fake.loginAttempts(ALICE), 2)
          assert.isFalse(fake.isLocked(ALICE))
          const held = yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD))
          assert.include(held.message, "refused 2 passwords of this account in a row, and locks it at the third")
          yield* clock.advance("29 minutes")
          assert.deepInclude(yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD)), { reason: "recently_refused" })
          yield* clock.advance("1 minute")
          assert.isTrue((yield* connectLibre(alice, ALICE, PASSWORD)).created)
          assert.strictEqual(fake.loginAttempts(ALICE), 3)
        }),
      { connect: false }
    )
  )

  it.effect("an account locked by others' failed logins: told at connect, and not tried again before the backoff", () =>
    setUp(
      (fake, clock) =>
        Effect.gen(function* () {
          fake.lockNow(ALICE)
          const locked = yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD))
          assert.deepInclude(locked, { _tag: "CredentialsRejected", reason: "account_locked" })
          assert.include(locked.message, "locked the account after too many failed logins (for 300 s)")
          for (const password of [PASSWORD, "another-one"]) {
            assert.deepInclude(yield* Effect.flip(connectLibre(alice, ALICE, password)), { reason: "account_locked" })
          }
          assert.strictEqual(fake.loginAttempts(ALICE), 1)
          // The fake unlocks after its 300 s; the adapter waits its own 15 minutes before a login of this account.
          yield* clock.advance("14 minutes")
          assert.deepInclude(yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD)), { reason: "account_locked" })
          yield* clock.advance("1 minute")
          assert.isTrue((yield* connectLibre(alice, ALICE, PASSWORD)).created)
          assert.strictEqual(fake.loginAttempts(ALICE), 2)
        }),
      { connect: false }
    )
  )

  it.effect(
    "a lockout met while polling: re-authorization needed, no login after it, connect again once it ended",
    () =>
      setUp(
        (fake, clock) =>
          Effect.gen(function* () {
            yield* sync
            const before = fake.loginAttempts(ALICE)
            fake.lockNow(ALICE)
            fake.revokeTickets(ALICE)
            yield* clock.advance("1 minute")
            const refused = yield* Effect.flip(sync)
            assert.strictEqual(refused._tag, "NeedsReauthorization")
            const waiting = yield* connection
            assert.strictEqual(waiting.status, "needs_reauthorization")
            assert.include(waiting.lastError ?? "", "locked the account")
            assert.isNull(waiting.nextPollAt)
            for (let i = 0; i < 7; i++) {
              yield* clock.advance("5 minutes")
              assert.strictEqual((yield* Effect.flip(sync))._tag, "ConnectionNotPollable")
            }
            assert.strictEqual(fake.loginAttempts(ALICE), before + 1)
            // The fake announced 40 minutes: once they have passed, the account holder connects again.
            yield* clock.advance("5 minutes")
            assert.isFalse((yield* connectLibre(alice, ALICE, PASSWORD)).created)
            assert.strictEqual((yield* sync).windows, 1)
            assert.strictEqual((yield* connection).status, "active")
            assert.strictEqual(fake.loginAttempts(ALICE), before + 2)
          }),
        { fake: { lockoutSeconds: 2400, lockHttpStatus: 429 } }
      )
  )
})

describe("LibreLinkUp tickets", () => {
  it.effect("the refreshed ticket of each answer is adopted: a day of polls on 2-hour tickets needs no login", () =>
    setUp(
      (fake, clock) =>
        Effect.gen(function* () {
          const outcomes = yield* pollMany(clock, 48, "30 minutes")
          assert.isTrue(outcomes.every((outcome) => outcome === "ok"))
          assert.strictEqual(fake.loginAttempts(ALICE), 1)
          assert.isFalse(fake.requests.some((request) => request.status === 401))
        }),
      { fake: { ticketMillis: 2 * HOUR } }
    )
  )

  it.effect("a ticket about to expire is renewed by one login before it is used, without a refused read", () =>
    setUp(
      (fake, clock) =>
        Effect.gen(function* () {
          yield* clock.advance("1 hour")
          assert.strictEqual((yield* sync).windows, 1)
          assert.strictEqual(fake.loginAttempts(ALICE), 2)
          assert.isFalse(fake.requests.some((request) => request.status === 401))
        }),
      { fake: { ticketMillis: 90 * MINUTE } }
    )
  )

  it.effect("a ticket refused again right after its renewal fails the sync without a second login", () =>
    setUp((fake, clock) =>
      Effect.gen(function* () {
        fake.inject(
          { kind: "status", status: 401, body: JSON.stringify({ message: "invalid or expired jwt" }) },
          { path: LIBRE_PATHS.connections, times: 2 }
        )
        yield* clock.advance("1 minute")
        const failed = yield* Effect.flip(sync)
        assert.strictEqual(failed._tag, "ProviderUnavailable")
        assert.include(failed.message, "refused a ticket it had just issued")
        assert.strictEqual(fake.loginAttempts(ALICE), 2)
        assert.deepStrictEqual([(yield* connection).status, (yield* connection).consecutiveFailures], ["error", 1])
      })
    )
  )

  it.effect("a 429 on a read: rate limited for Retry-After, without a login", () =>
    setUp((fake, clock) =>
      Effect.gen(function* () {
        fake.inject(
          { kind: "status", status: 429, retryAfter: "600", body: JSON.stringify({ status: 429 }) },
          { path: LIBRE_PATHS.connections }
        )
        yield* clock.advance("1 minute")
        const limited = yield* Effect.flip(sync)
        assert.strictEqual(limited._tag, "RateLimited")
        assert.strictEqual(limited._tag === "RateLimited" ? Duration.toSeconds(limited.retryAfter) : 0, 600)
        const waiting = yield* connection
        assert.strictEqual(waiting.status, "rate_limited")
        assert.strictEqual(DateTime.toEpochMillis(waiting.nextPollAt!), T0 + MINUTE + 600_000)
        assert.strictEqual(fake.loginAttempts(ALICE), 1)
      })
    )
  )

  it.effect("a too old app version is reported, and the next sync sends the minimum LibreLinkUp named", () =>
    setUp((fake, clock) =>
      Effect.gen(function* () {
        fake.requireVersion("4.17.0")
        yield* clock.advance("1 minute")
        const refused = yield* Effect.flip(sync)
        assert.strictEqual(refused._tag, "ProviderUnavailable")
        assert.include(refused.message, "refuses app version 4.16.0 and asks for at least 4.17.0")
        yield* clock.advance("1 minute")
        assert.strictEqual((yield* sync).windows, 1)
        assert.deepStrictEqual([...new Set(fake.requests.map((request) => request.version))], ["4.16.0", "4.17.0"])
        assert.strictEqual(fake.loginAttempts(ALICE), 1)
      })
    )
  )
})

const sha256 = async (text: string) => {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text))
  return Buffer.from(digest).toString("hex")
}
