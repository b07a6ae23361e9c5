import { DEXCOM_PROVIDER_ID, InMemoryEventLog } from "@bg-ingest/adapters"
import {
  backfillProgress,
  Connect,
  ConnectionStore,
  makeWindow,
  type Reading,
  ReadingStore,
  Scheduler,
  Sync,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { type DexcomRecord, type ExpectedReading, egvSeries, impossibleRecord } from "../../fakes/dexcomRecords.ts"
import { type FakeDexcom, fakeDexcom } from "../../fakes/FakeDexcomServer.ts"
import { instant, manualClock } from "../../support/clock.ts"
import { alignedFiveMinutes, dexcomServiceLayer } from "../../support/dexcom.ts"
import { fakeDexcomOnTestClock, T0 } from "../../support/dexcomChanges.ts"

const alice = UserId.make("alice")
const bob = UserId.make("bob")
const EGVS = "/v3/users/self/egvs"
const DAY = 86_400_000

/** What the store holds, in the shape of the oracle. */
const asExpected = (reading: Reading): ExpectedReading => ({
  epochSeconds: DateTime.toEpochMillis(reading.timestamp) / 1000,
  glucoseMgDl: reading.glucoseMgDl,
  trend: reading.trend,
  trendRate: reading.trendRate,
  status: reading.status,
  recordId: reading.source.recordId ?? "",
  displayTime: reading.displayTime ?? ""
})
const byTime = (a: ExpectedReading, b: ExpectedReading) => a.epochSeconds - b.epochSeconds

/**
 * alice's Dexcom account: an old-format stretch 40 days ago (zone-less times), and the last two days with
 * every quirk (no values, high/low, odd offsets, unknown fields, an impossible value), with a 2.5-hour hole
 * whose records the transmitter backfills later.
 */
const aliceAccount = (now: number) => {
  const old = egvSeries({
    start: alignedFiveMinutes(now - 40 * DAY),
    count: 100,
    zoneLess: true,
    recordIdPrefix: "old"
  })
  const recentStart = alignedFiveMinutes(now - 2 * DAY)
  const recent = egvSeries({
    start: recentStart,
    count: 560,
    nullEvery: 13,
    highLowEvery: 17,
    displayOffset: "-06:59:59",
    unknownFields: true
  })
  const holeStart = recentStart / 1000 + 400 * 300
  const holeEnd = holeStart + 30 * 300
  const inHole = (epochSeconds: number) => epochSeconds >= holeStart && epochSeconds < holeEnd
  const recordSeconds = (record: DexcomRecord) => Date.parse(record.systemTime.replace(/Z?$/, "Z")) / 1000
  const records = [
    ...old.records,
    ...recent.records.filter((r) => !inHole(recordSeconds(r))),
    impossibleRecord(holeEnd + 7)
  ]
  return {
    records,
    withoutValue: records.filter((record) => record.value === null).length,
    late: recent.records.filter((r) => inHole(recordSeconds(r))),
    expected: [...old.expected, ...recent.expected.filter((r) => !inHole(r.epochSeconds))].sort(byTime),
    expectedLate: recent.expected.filter((r) => inHole(r.epochSeconds)).sort(byTime)
  }
}

/** The instant the tests run at: the service, the fake and the records all read this clock. */
const NOW = instant("2026-02-10T12:00:00Z")

const setUp = (body: (fake: FakeDexcom, now: number) => Effect.Effect<void, unknown, any>) => {
  const clock = manualClock(NOW)
  return Effect.gen(function* () {
    const fake = yield* fakeDexcom({ now: clock.now })
    yield* body(fake, NOW).pipe(Effect.provide(dexcomServiceLayer(fake)))
  }).pipe(clock.provide)
}

/**
 * The same on the TestClock, the fake's clock included (records arrive at TestClock time), for tests that depend
 * on when records reached Dexcom. No retries: a retry's backoff would sleep on the TestClock.
 */
const setUpOnTestClock = (body: (fake: FakeDexcom, now: number) => Effect.Effect<void, unknown, any>) =>
  Effect.gen(function* () {
    const fake = yield* fakeDexcomOnTestClock()
    yield* body(fake, T0).pipe(Effect.provide(dexcomServiceLayer(fake, { settings: { retries: 0 } })))
  })

/** authorize → Dexcom's consent page → callback, as a browser would go through them. */
const connectThroughConsent = (fake: FakeDexcom, userId: UserId, username: string) =>
  Effect.gen(function* () {
    const connect = yield* Connect
    const { consentUrl, browserBinding } = yield* connect.authorize(userId, "dexcom")
    const redirect = yield* Effect.promise(() => fake.consent(consentUrl, { username }))
    return yield* connect.complete("dexcom", {
      code: redirect.searchParams.get("code") ?? undefined,
      state: redirect.searchParams.get("state") ?? undefined,
      browserBinding
    })
  })

const stored = (userId: UserId, now: number) =>
  ReadingStore.use((store) =>
    store.range(userId, makeWindow(DateTime.makeUnsafe(now - 100 * DAY), DateTime.makeUnsafe(now + DAY)), 100_000)
  ).pipe(Effect.map((readings) => readings.map(asExpected)))

const connectionOf = (userId: UserId) =>
  ConnectionStore.use((store) => store.get(userId, DEXCOM_PROVIDER_ID)).pipe(Effect.map(Option.getOrThrow))

describe("Dexcom through the domain: connect, backfill, poll", () => {
  it.effect("stores exactly the fake's valid readings after connecting; a second sync adds nothing", () =>
    setUpOnTestClock((fake, now) =>
      Effect.gen(function* () {
        const account = aliceAccount(now)
        fake.addUser("SandboxUser1", { records: account.records, late: account.late })
        yield* TestClock.adjust("2 minutes")
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync

        const first = yield* sync.sync(alice, "dexcom")
        assert.deepStrictEqual(yield* stored(alice, now), account.expected)
        // 40 days back from the newest record: two windows of at most 30 days.
        assert.strictEqual(first.windows, 2)
        assert.strictEqual(first.inserted, account.expected.length)
        assert.strictEqual(first.rejected, 1)
        assert.strictEqual(first.skippedWithoutValue, account.withoutValue)
        const events = yield* InMemoryEventLog.use((log) => log.events)
        assert.strictEqual(events.length, account.expected.length)
        assert.isTrue(events.every((event) => event.type === "bg.reading.created"))

        const connection = yield* connectionOf(alice)
        const newest = account.expected.at(-1)!.epochSeconds * 1000
        assert.strictEqual(connection.status, "active")
        assert.strictEqual(DateTime.toEpochMillis(connection.lastReadingAt!), newest)
        assert.strictEqual(DateTime.toEpochMillis(connection.syncedThrough!), newest + 1000)
        assert.isTrue(backfillProgress(connection).complete)

        const egvCalls = fake.count(EGVS)
        yield* TestClock.adjust("15 minutes")
        const second = yield* sync.sync(alice, "dexcom")
        assert.deepStrictEqual([second.fetched, second.inserted, second.updated], [false, 0, 0])
        assert.strictEqual(fake.count(EGVS), egvCalls, "nothing new at Dexcom: no EGV call")
        assert.deepStrictEqual(yield* stored(alice, now), account.expected)
        assert.strictEqual((yield* InMemoryEventLog.use((log) => log.events)).length, account.expected.length)
      })
    )
  )

  it.effect("records the transmitter backfills later are fetched by the next poll, and only they are new", () =>
    setUpOnTestClock((fake, now) =>
      Effect.gen(function* () {
        const account = aliceAccount(now)
        fake.addUser("SandboxUser1", { records: account.records, late: account.late })
        yield* TestClock.adjust("2 minutes")
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        yield* sync.sync(alice, "dexcom")
        yield* TestClock.adjust("15 minutes")
        fake.deliverLate("SandboxUser1")
        const newer = egvSeries({
          start: account.expected.at(-1)!.epochSeconds * 1000 + 300_000,
          count: 1,
          recordIdPrefix: "new"
        })
        fake.addRecords("SandboxUser1", newer.records)

        const poll = yield* sync.sync(alice, "dexcom")
        assert.strictEqual(poll.windows, 1)
        assert.deepStrictEqual([poll.inserted, poll.updated], [account.expectedLate.length + 1, 0])
        assert.deepStrictEqual(
          yield* stored(alice, now),
          [...account.expected, ...account.expectedLate, ...newer.expected].sort(byTime)
        )
      })
    )
  )

  it.live("converts a mmol/L account's values and rates to mg/dL", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        const series = egvSeries({ start: alignedFiveMinutes(now - DAY), count: 200, unit: "mmol/L", nullEvery: 20 })
        fake.addUser("SandboxUser2", { records: series.records })
        yield* connectThroughConsent(fake, bob, "SandboxUser2")
        yield* (yield* Sync).sync(bob, "dexcom")
        const readings = yield* stored(bob, now)
        assert.deepStrictEqual(readings, [...series.expected].sort(byTime))
        assert.isTrue(readings.every((r) => Number.isInteger(r.glucoseMgDl) && r.glucoseMgDl >= 40))
      })
    )
  )

  it.live("a revoked grant stops that connection's polling with the reason shown; other users go on", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        const start = alignedFiveMinutes(now - DAY)
        fake.addUser("SandboxUser1", { records: egvSeries({ start, count: 100, recordIdPrefix: "a" }).records })
        fake.addUser("SandboxUser2", { records: egvSeries({ start, count: 100, recordIdPrefix: "b" }).records })
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        yield* connectThroughConsent(fake, bob, "SandboxUser2")
        const scheduler = yield* Scheduler
        const sync = yield* Sync
        const connections = yield* ConnectionStore
        assert.deepStrictEqual(
          yield* scheduler.runCycle.pipe(Effect.map((r) => [r.claimed, r.succeeded, r.failed])),
          [2, 2, 0]
        )

        fake.revoke("SandboxUser1")
        const later = egvSeries({ start: start + 100 * 300_000, count: 10, recordIdPrefix: "later" })
        fake.addRecords("SandboxUser1", later.records)
        fake.addRecords("SandboxUser2", later.records)
        const due = yield* DateTime.now
        for (const userId of [alice, bob]) yield* connections.update(userId, DEXCOM_PROVIDER_ID, { nextPollAt: due })
        assert.deepStrictEqual(
          yield* scheduler.runCycle.pipe(Effect.map((r) => [r.claimed, r.succeeded, r.failed])),
          [2, 1, 1]
        )
        const revoked = yield* connectionOf(alice)
        assert.strictEqual(revoked.status, "needs_reauthorization")
        assert.strictEqual(revoked.nextPollAt, null)
        assert.include(revoked.lastError ?? "", "connect Dexcom again")
        assert.strictEqual((yield* connectionOf(bob)).status, "active")
        assert.strictEqual((yield* stored(bob, now)).length, 110)

        // Not polled again, and a manual sync is refused without calling Dexcom.
        const calls = fake.requests.length
        assert.strictEqual((yield* scheduler.runCycle).claimed, 0)
        assert.strictEqual((yield* Effect.flip(sync.sync(alice, "dexcom")))._tag, "ConnectionNotPollable")
        assert.strictEqual(fake.requests.length, calls)

        // Connecting again resumes from the cursor, without a second backfill.
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const resumed = yield* sync.sync(alice, "dexcom")
        assert.deepStrictEqual([resumed.windows, resumed.inserted], [1, 10])
        assert.strictEqual((yield* connectionOf(alice)).status, "active")
      })
    )
  )

  it.live("a 429 marks the connection rate limited until Retry-After; 5xx answers are retried", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        fake.addUser("SandboxUser1", {
          records: egvSeries({ start: alignedFiveMinutes(now - DAY), count: 50 }).records
        })
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        fake.inject({ kind: "status", status: 503 }, { path: EGVS, times: 2 })
        fake.inject({ kind: "reset" }, { path: EGVS, times: 1 })
        assert.strictEqual((yield* sync.sync(alice, "dexcom")).inserted, 50)

        fake.addRecords(
          "SandboxUser1",
          egvSeries({ start: alignedFiveMinutes(now) + 300_000, count: 1, recordIdPrefix: "n" }).records
        )
        fake.inject({ kind: "status", status: 429, retryAfter: "120" }, { path: EGVS })
        const limited = yield* Effect.flip(sync.sync(alice, "dexcom"))
        assert.strictEqual(limited._tag, "RateLimited")
        const connection = yield* connectionOf(alice)
        assert.strictEqual(connection.status, "rate_limited")
        assert.strictEqual(DateTime.toEpochMillis(connection.nextPollAt!), now + 120_000)
        assert.include(connection.lastError ?? "", "429")
      })
    )
  )

  it.live("an unreadable answer stores nothing and keeps the cursor; the next sync catches up", () =>
    setUp((fake, now) =>
      Effect.gen(function* () {
        const series = egvSeries({ start: alignedFiveMinutes(now - DAY), count: 60 })
        fake.addUser("SandboxUser1", { records: series.records })
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        fake.inject({ kind: "body", body: '{"records": "not a list"}' }, { path: EGVS })
        const error = yield* Effect.flip(sync.sync(alice, "dexcom"))
        assert.strictEqual(error._tag, "InvalidProviderResponse")
        assert.include(error.message, "records")
        const failed = yield* connectionOf(alice)
        assert.deepStrictEqual([failed.status, failed.syncedThrough], ["error", null])
        assert.deepStrictEqual(yield* stored(alice, now), [])

        yield* ConnectionStore.use((store) =>
          store.update(alice, DEXCOM_PROVIDER_ID, { nextPollAt: DateTime.makeUnsafe(now) })
        )
        assert.strictEqual((yield* sync.sync(alice, "dexcom")).inserted, 60)
        assert.deepStrictEqual(yield* stored(alice, now), [...series.expected].sort(byTime))
      })
    )
  )
})
