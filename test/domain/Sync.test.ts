import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import {
  ConnectionStore,
  DataChanges,
  EventPublishError,
  makeReading,
  NeedsReauthorization,
  newConnection,
  ProviderId,
  ProviderUnavailable,
  RateLimited,
  type Reading,
  ReadingStore,
  readingEventId,
  Sync,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { domainLayer } from "../support/domain.ts"
import { makeScriptedProvider } from "../support/ScriptedProvider.ts"

const NOW = DateTime.makeUnsafe("2026-02-10T12:00:00Z")
const alice = UserId.make("alice")
const scripted = ProviderId.make("scripted")
const millis = DateTime.toEpochMillis

/** A reading every 5 minutes over the `days` before NOW (the newest 5 minutes before NOW), shifted by the offset. */
const history = (userId: UserId, days: number, offsetMinutes = 0): ReadonlyArray<Reading> =>
  Array.from({ length: days * 288 }, (_, index) => {
    const timestamp = DateTime.subtract(NOW, { minutes: (days * 288 - index) * 5 - offsetMinutes })
    const step = millis(timestamp) / 300_000
    return makeReading({
      userId,
      timestamp,
      glucoseMgDl: 80 + (step % 120),
      trend: "flat",
      source: { provider: scripted, recordId: `r${step}` }
    })
  })

const setup = (options?: { readonly maxWindow?: Duration.Duration }) => {
  const control = makeScriptedProvider({ maxWindow: options?.maxWindow ?? Duration.days(1) })
  return { control, layer: domainLayer([control.provider]) }
}

const connect = (userId: UserId, backfillDays: number) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(millis(NOW))
    const connections = yield* ConnectionStore
    yield* connections.upsert(
      newConnection({
        userId,
        provider: scripted,
        backfillFrom: DateTime.subtract(NOW, { days: backfillDays }),
        credentials: null,
        now: NOW
      })
    )
  })

const connectionOf = (userId: UserId) =>
  ConnectionStore.use((store) => store.get(userId, scripted)).pipe(Effect.map(Option.getOrThrow))

const storedCount = (userId: UserId) =>
  ReadingStore.use((store) =>
    store.range(userId, { from: DateTime.makeUnsafe(0), to: DateTime.add(NOW, { days: 1 }) }, 100_000)
  ).pipe(Effect.map((readings) => readings.length))

const publishedIds = InMemoryEventLog.use((log) => log.events).pipe(
  Effect.map((events) => events.map((e) => e.eventId))
)

describe("Sync", () => {
  it.effect("backfills from the horizon in windows no longer than the provider's maximum", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 5))
      yield* connect(alice, 3)
      const result = yield* Sync.use((sync) => sync.sync(alice, "scripted"))
      // 3 days back from NOW, bounded by the data: three windows of at most 1 day.
      assert.strictEqual(control.fetches.length, 3)
      for (const { window } of control.fetches) {
        assert.isAtMost(millis(window.to) - millis(window.from), Duration.toMillis(Duration.days(1)))
      }
      assert.strictEqual(millis(control.fetches[0]!.window.from), millis(DateTime.subtract(NOW, { days: 3 })))
      assert.strictEqual(result.inserted, 3 * 288)
      assert.strictEqual(yield* storedCount(alice), 3 * 288)
      assert.strictEqual((yield* publishedIds).length, 3 * 288)
      const connection = yield* connectionOf(alice)
      assert.strictEqual(connection.status, "active")
      // Up to just past the provider's newest reading.
      assert.strictEqual(millis(connection.lastReadingAt!), millis(NOW) - 300_000)
      assert.strictEqual(millis(connection.syncedThrough!), millis(NOW) - 299_000)
      // The next poll is one interval away, plus at most 10 % jitter.
      const next = millis(connection.nextPollAt!) - millis(NOW)
      assert.isAtLeast(next, Duration.toMillis(Duration.minutes(15)))
      assert.isAtMost(next, Duration.toMillis(Duration.minutes(16.5)))
    }).pipe(Effect.provide(layer))
  })

  it.effect("a second sync reaches back by the overlap, stores nothing twice and publishes nothing twice", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      const sync = yield* Sync
      yield* sync.sync(alice, "scripted")
      const eventsAfterFirst = (yield* publishedIds).length
      yield* TestClock.adjust("15 minutes")
      // Three new readings since: NOW, NOW + 5 and NOW + 10 minutes.
      control.setReadings(alice, history(alice, 1, 15))
      const second = yield* sync.sync(alice, "scripted")
      const last = control.fetches.at(-1)!.window
      // From the newest stored reading minus the 1-hour overlap.
      assert.strictEqual(millis(last.from), millis(DateTime.subtract(NOW, { minutes: 65 })))
      assert.deepStrictEqual([second.inserted, second.updated, second.unchanged], [3, 0, 13])
      assert.strictEqual((yield* publishedIds).length, eventsAfterFirst + 3)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a late record inside the overlap is picked up by the next poll", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      const withGap = history(alice, 1).filter((_, index) => index !== 280)
      control.setReadings(alice, withGap)
      yield* connect(alice, 1)
      const sync = yield* Sync
      yield* sync.sync(alice, "scripted")
      assert.strictEqual(yield* storedCount(alice), 287)
      // With the next reading, the transmitter backfills the record it missed 40 minutes earlier.
      control.setReadings(alice, history(alice, 1).concat(history(alice, 1, 5).slice(-1)))
      yield* TestClock.adjust("15 minutes")
      const second = yield* sync.sync(alice, "scripted")
      assert.strictEqual(second.inserted, 2)
      assert.strictEqual(yield* storedCount(alice), 289)
    }).pipe(Effect.provide(layer))
  })

  it.effect("when the provider says nothing is newer than the cursor, nothing is fetched", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      const sync = yield* Sync
      yield* sync.sync(alice, "scripted")
      const fetchesBefore = control.fetches.length
      yield* TestClock.adjust("15 minutes")
      const result = yield* sync.sync(alice, "scripted")
      assert.isFalse(result.fetched)
      assert.strictEqual(control.fetches.length, fetchesBefore)
      assert.strictEqual((yield* connectionOf(alice)).status, "active")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failing publisher leaves the cursor where it was; the retry republishes the same events", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      yield* InMemoryEventLog.use((log) => log.failNext(1))
      const sync = yield* Sync
      const failure = yield* Effect.flip(sync.sync(alice, "scripted"))
      assert.strictEqual(failure._tag, "EventPublishError")
      let connection = yield* connectionOf(alice)
      assert.isNull(connection.syncedThrough)
      assert.strictEqual(connection.status, "error")
      assert.strictEqual(connection.consecutiveFailures, 1)
      // The readings were stored, their events not confirmed.
      assert.strictEqual(yield* storedCount(alice), 288)
      assert.strictEqual((yield* publishedIds).length, 0)

      yield* TestClock.adjust("1 minute")
      const retry = yield* sync.sync(alice, "scripted")
      assert.deepStrictEqual([retry.inserted, retry.unchanged], [0, 288])
      const ids = yield* publishedIds
      assert.deepStrictEqual([...ids].sort(), history(alice, 1).map(readingEventId).sort())
      connection = yield* connectionOf(alice)
      assert.strictEqual(millis(connection.syncedThrough!), millis(NOW) - 299_000)
      assert.strictEqual(connection.status, "active")
      assert.strictEqual(connection.consecutiveFailures, 0)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a failure in the middle of a backfill keeps the progress of the windows before it", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 5))
      yield* connect(alice, 3)
      const sync = yield* Sync
      // The first window succeeds, the second fails.
      control.failNext(null, new ProviderUnavailable({ provider: scripted, message: "HTTP 503" }))
      const error = yield* Effect.flip(sync.sync(alice, "scripted"))
      assert.strictEqual(error._tag, "ProviderUnavailable")
      const connection = yield* connectionOf(alice)
      assert.strictEqual(millis(connection.syncedThrough!), millis(DateTime.subtract(NOW, { days: 2 })))
      assert.strictEqual(connection.lastError, "HTTP 503")
      assert.strictEqual(yield* storedCount(alice), 288)

      // Resumed: from the newest stored reading minus the overlap, not from the horizon.
      yield* TestClock.adjust("1 minute")
      const resumed = yield* sync.sync(alice, "scripted")
      assert.strictEqual(
        millis(control.fetches.at(-3)!.window.from),
        millis(DateTime.subtract(NOW, { days: 2, hours: 1, minutes: 5 }))
      )
      assert.strictEqual(resumed.inserted, 2 * 288)
      assert.strictEqual(yield* storedCount(alice), 3 * 288)
    }).pipe(Effect.provide(layer))
  })

  it.effect("rate limited: the connection says so and is next polled after Retry-After", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      control.failNext(
        new RateLimited({
          provider: scripted,
          retryAfter: Duration.seconds(120),
          message: "HTTP 429 Too Many Requests"
        })
      )
      const error = yield* Effect.flip(Sync.use((sync) => sync.sync(alice, "scripted")))
      assert.strictEqual(error._tag, "RateLimited")
      const connection = yield* connectionOf(alice)
      assert.strictEqual(connection.status, "rate_limited")
      assert.strictEqual(millis(connection.nextPollAt!), millis(NOW) + 120_000)
      assert.strictEqual(connection.lastError, "HTTP 429 Too Many Requests")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a revoked grant stops polling until the user authorizes again", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      control.failNext(new NeedsReauthorization({ provider: scripted, message: "invalid_grant: token revoked" }))
      const sync = yield* Sync
      assert.strictEqual((yield* Effect.flip(sync.sync(alice, "scripted")))._tag, "NeedsReauthorization")
      const connection = yield* connectionOf(alice)
      assert.strictEqual(connection.status, "needs_reauthorization")
      assert.isNull(connection.nextPollAt)
      assert.strictEqual(connection.lastError, "invalid_grant: token revoked")
      const fetches = control.fetches.length
      const again = yield* Effect.flip(sync.sync(alice, "scripted"))
      assert.strictEqual(again._tag, "ConnectionNotPollable")
      assert.strictEqual(control.fetches.length, fetches)
    }).pipe(Effect.provide(layer))
  })

  it.effect("consecutive failures back off exponentially, with jitter, up to the maximum", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      const sync = yield* Sync
      const delays: Array<number> = []
      for (let attempt = 1; attempt <= 9; attempt++) {
        control.failNext(new ProviderUnavailable({ provider: scripted, message: "HTTP 502" }))
        yield* Effect.flip(sync.sync(alice, "scripted"))
        const now = yield* DateTime.now
        delays.push(millis((yield* connectionOf(alice)).nextPollAt!) - millis(now))
      }
      delays.forEach((delay, index) => {
        const capped = Math.min(30_000 * 2 ** index, 3_600_000)
        assert.isAtLeast(delay, capped / 2, `attempt ${index + 1}`)
        assert.isAtMost(delay, capped, `attempt ${index + 1}`)
      })
      assert.strictEqual((yield* connectionOf(alice)).consecutiveFailures, 9)
    }).pipe(Effect.provide(layer))
  })

  it.effect("names what is missing: an unknown provider, a missing connection", () => {
    const { layer } = setup()
    return Effect.gen(function* () {
      const sync = yield* Sync
      assert.strictEqual((yield* Effect.flip(sync.sync(alice, "nightscout")))._tag, "UnknownProvider")
      const missing = yield* Effect.flip(sync.sync(alice, "scripted"))
      assert.strictEqual(missing._tag, "ConnectionNotFound")
      assert.strictEqual(missing.message, "alice has no scripted connection")
    }).pipe(Effect.provide(layer))
  })

  it.effect("a publish failure is a typed error the caller sees", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      yield* InMemoryEventLog.use((log) => log.failNext(1))
      const error = yield* Effect.flip(Sync.use((sync) => sync.sync(alice, "scripted")))
      assert.instanceOf(error, EventPublishError)
    }).pipe(Effect.provide(layer))
  })

  it.effect("a provider that tells what changed since: exactly the named windows, clipped, joined and split", () => {
    const { control, layer } = setup()
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 5))
      yield* connect(alice, 3)
      const pulls: Array<DateTime.Utc> = []
      let named: ReadonlyArray<{ from: DateTime.Utc; to: DateTime.Utc }> = []
      control.setChanges((_, since) => {
        const pulledAt = DateTime.subtract(NOW, { seconds: 30 - pulls.length })
        pulls.push(pulledAt)
        if (Option.isNone(since)) {
          return DataChanges.Span({
            earliest: DateTime.subtract(NOW, { days: 5 }),
            latest: DateTime.subtract(NOW, { minutes: 5 }),
            pulledAt
          })
        }
        return DataChanges.ChangedSince({ windows: named, pulledAt })
      })
      const sync = yield* Sync
      yield* sync.sync(alice, "scripted")
      assert.strictEqual(millis((yield* connectionOf(alice)).changesSince!), millis(pulls[0]!))
      const backfillFetches = control.fetches.length

      // Late records: one stretch 4 days back (partly before the 3-day horizon), two overlapping ones 2 days back.
      const at = (hours: number) => DateTime.subtract(NOW, { hours })
      named = [
        { from: at(49), to: at(47) },
        { from: at(4 * 24), to: at(3 * 24 - 2) },
        { from: at(48), to: at(46) }
      ]
      yield* TestClock.adjust("15 minutes")
      const late = yield* sync.sync(alice, "scripted")
      assert.deepStrictEqual(Option.map(control.changesAsked.at(-1)!.since, millis), Option.some(millis(pulls[0]!)))
      assert.deepStrictEqual(
        control.fetches.slice(backfillFetches).map(({ window }) => [millis(window.from), millis(window.to)]),
        [
          [millis(at(3 * 24)), millis(at(3 * 24 - 2))],
          [millis(at(49)), millis(at(46))]
        ]
      )
      assert.deepStrictEqual([late.fetched, late.windows, late.inserted], [true, 2, 0])
      assert.strictEqual(millis((yield* connectionOf(alice)).changesSince!), millis(pulls[1]!))

      // Nothing changed: no fetch, and the next sync asks from this pull.
      named = []
      yield* TestClock.adjust("15 minutes")
      const quiet = yield* sync.sync(alice, "scripted")
      assert.deepStrictEqual([quiet.fetched, quiet.windows], [false, 0])
      assert.strictEqual(control.fetches.length, backfillFetches + 2)
      const connection = yield* connectionOf(alice)
      assert.strictEqual(millis(connection.changesSince!), millis(pulls[2]!))
      assert.strictEqual(connection.status, "active")
    }).pipe(Effect.provide(layer))
  })

  it.effect("what changed since is asked again from the same instant until a sync has stored it all", () => {
    const { control, layer } = setup({ maxWindow: Duration.hours(1) })
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      const since = DateTime.subtract(NOW, { days: 2 })
      yield* ConnectionStore.use((store) => store.update(alice, scripted, { changesSince: since }))
      const window = { from: DateTime.subtract(NOW, { hours: 3 }), to: DateTime.subtract(NOW, { hours: 1 }) }
      control.setChanges(() => DataChanges.ChangedSince({ windows: [window], pulledAt: NOW }))
      const sync = yield* Sync
      control.failNext(null, new ProviderUnavailable({ provider: scripted, message: "HTTP 503" }))
      assert.strictEqual((yield* Effect.flip(sync.sync(alice, "scripted")))._tag, "ProviderUnavailable")
      assert.strictEqual(millis((yield* connectionOf(alice)).changesSince!), millis(since))

      yield* TestClock.adjust("1 minute")
      const retried = yield* sync.sync(alice, "scripted")
      assert.deepStrictEqual(Option.map(control.changesAsked.at(-1)!.since, millis), Option.some(millis(since)))
      assert.deepStrictEqual([retried.windows, retried.inserted], [2, 24 - 12])
      assert.strictEqual(millis((yield* connectionOf(alice)).changesSince!), millis(NOW))

      // An answer without pulledAt (the provider could not tell this time) keeps the instant and fetches the
      // overlap window.
      control.setChanges(() => DataChanges.CannotTell({}))
      yield* TestClock.adjust("15 minutes")
      yield* sync.sync(alice, "scripted")
      assert.strictEqual(millis(control.fetches.at(-1)!.window.to), millis(NOW) + 15 * 60_000 + 60_000)
      assert.strictEqual(millis((yield* connectionOf(alice)).changesSince!), millis(NOW))
    }).pipe(Effect.provide(layer))
  })

  it.effect("a window named past now is fetched as named, but never more than a day past now", () => {
    const { control, layer } = setup({ maxWindow: Duration.days(30) })
    return Effect.gen(function* () {
      control.setReadings(alice, history(alice, 1))
      yield* connect(alice, 1)
      yield* ConnectionStore.use((store) => store.update(alice, scripted, { changesSince: NOW }))
      const named = [
        { from: DateTime.subtract(NOW, { hours: 1 }), to: DateTime.add(NOW, { minutes: 20 }) },
        { from: DateTime.add(NOW, { hours: 2 }), to: DateTime.add(NOW, { days: 400 }) }
      ]
      control.setChanges(() => DataChanges.ChangedSince({ windows: named, pulledAt: NOW }))
      yield* Sync.use((sync) => sync.sync(alice, "scripted"))
      assert.deepStrictEqual(
        control.fetches.map(({ window }) => [millis(window.from), millis(window.to)]),
        [
          [millis(named[0]!.from), millis(named[0]!.to)],
          [millis(named[1]!.from), millis(DateTime.add(NOW, { days: 1 }))]
        ]
      )
    }).pipe(Effect.provide(layer))
  })
})
