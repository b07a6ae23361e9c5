import { DEXCOM_PROVIDER_ID, lastSyncTimeOf } from "@bg-ingest/adapters"
import { ConnectionStore, Scheduler, Sync, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { egvSeries } from "../../fakes/dexcomRecords.ts"
import type { FakeDexcom } from "../../fakes/FakeDexcomServer.ts"
import { dexcomServiceLayer } from "../../support/dexcom.ts"
import {
  byTime,
  connectThroughConsent,
  DATA_RANGE,
  DAY,
  dataCalls,
  dexcomDate,
  fakeDexcomOnTestClock,
  lateAccount,
  MINUTE,
  requestsDuring,
  storedReadings,
  T0
} from "../../support/dexcomChanges.ts"

const alice = UserId.make("alice")

// No retries: a retry's backoff would sleep on the TestClock while the fake answers over real I/O.
const withDexcom = (body: (fake: FakeDexcom) => Effect.Effect<void, unknown, any>) =>
  Effect.gen(function* () {
    const fake = yield* fakeDexcomOnTestClock()
    yield* body(fake).pipe(Effect.provide(dexcomServiceLayer(fake, { settings: { retries: 0 } })))
  })

const connectionOf = (userId: UserId) =>
  ConnectionStore.use((store) => store.get(userId, DEXCOM_PROVIDER_ID)).pipe(Effect.map(Option.getOrThrow))

const now = Effect.map(DateTime.now, DateTime.toEpochMillis)

/** The next scheduled poll: the clock moves past the connection's next poll and the scheduler runs a cycle. */
const nextScheduledPoll = (fake: FakeDexcom) =>
  Effect.gen(function* () {
    const due = DateTime.toEpochMillis((yield* connectionOf(alice)).nextPollAt!)
    yield* TestClock.setTime(due + MINUTE)
    return yield* requestsDuring(fake, (yield* Scheduler).runCycle)
  })

describe("Dexcom's dataRange with lastSyncTime", () => {
  it.effect(
    "the first sync reads as before; each late record is stored by the next scheduled poll; nothing new costs one call",
    () =>
      withDexcom((fake) =>
        Effect.gen(function* () {
          const account = lateAccount()
          fake.addUser("SandboxUser1", { records: account.records, late: account.late })
          yield* TestClock.adjust("2 minutes")
          const connection = yield* connectThroughConsent(fake, alice, "SandboxUser1")

          // The first sync asks without lastSyncTime and reads from the backfill horizon up to the newest record.
          const first = yield* requestsDuring(fake, (yield* Scheduler).runCycle)
          assert.deepStrictEqual(first.result.succeeded, 1)
          assert.deepStrictEqual(dataCalls(first.requests), [
            "dataRange - 200",
            `egvs ${dexcomDate(account.start)}..${dexcomDate(account.newest + 1000)} 200`
          ])
          assert.isTrue(DateTime.isLessThan(connection.backfillFrom, DateTime.makeUnsafe(account.start)))
          assert.deepStrictEqual(yield* storedReadings(alice), account.expected)
          let pulledAt = lastSyncTimeOf(yield* now)
          assert.strictEqual(
            DateTime.toEpochMillis((yield* connectionOf(alice)).changesSince!),
            DateTime.toEpochMillis(pulledAt)
          )

          // Nothing new: one call, the one that says so.
          const quiet = yield* nextScheduledPoll(fake)
          assert.deepStrictEqual(quiet.result, { claimed: 1, succeeded: 1, failed: 0, republished: 0, deferred: 0 })
          assert.deepStrictEqual(
            quiet.requests.map((r) => `${r.path} ${r.lastSyncTime}`),
            [`${DATA_RANGE} ${dexcomDate(DateTime.toEpochMillis(pulledAt))}`]
          )
          pulledAt = lastSyncTimeOf(yield* now)

          // The transmitter backfills the hole, one record at a time, with no newer reading: each scheduled poll
          // stores the one that arrived since the last, and reads only its instant.
          const stored = [...account.expected]
          for (const [index, seconds] of account.lateSeconds.slice(0, 8).entries()) {
            fake.deliverLate("SandboxUser1", 1)
            const poll = yield* nextScheduledPoll(fake)
            assert.deepStrictEqual(dataCalls(poll.requests), [
              `dataRange ${dexcomDate(DateTime.toEpochMillis(pulledAt))} 200`,
              `egvs ${dexcomDate(seconds * 1000)}..${dexcomDate(seconds * 1000 + 1000)} 200`
            ])
            pulledAt = lastSyncTimeOf(yield* now)
            const expected = account.expectedLate[index]
            if (expected !== undefined) stored.push(expected)
            assert.deepStrictEqual(yield* storedReadings(alice), [...stored].sort(byTime), `late record ${index}`)
          }

          // Nothing new again: one data call, no EGVs, never the 24-hour overlap.
          const quietAgain = yield* nextScheduledPoll(fake)
          assert.deepStrictEqual(dataCalls(quietAgain.requests), [
            `dataRange ${dexcomDate(DateTime.toEpochMillis(pulledAt))} 200`
          ])
          assert.deepStrictEqual(yield* storedReadings(alice), [...stored].sort(byTime))
        })
      )
  )

  it.effect("late records and new ones arriving together are fetched in one window from the oldest to the newest", () =>
    withDexcom((fake) =>
      Effect.gen(function* () {
        const account = lateAccount()
        fake.addUser("SandboxUser1", { records: account.records, late: account.late })
        yield* TestClock.adjust("2 minutes")
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        yield* sync.sync(alice, "dexcom")
        const pulledAt = lastSyncTimeOf(yield* now)

        yield* TestClock.adjust("2 hours")
        fake.deliverLate("SandboxUser1")
        const newer = egvSeries({ start: account.newest + 300_000, count: 20, recordIdPrefix: "new" })
        fake.addRecords("SandboxUser1", newer.records)
        yield* TestClock.adjust("5 minutes")
        const poll = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
        const newest = account.newest + 20 * 300_000
        assert.deepStrictEqual(dataCalls(poll.requests), [
          `dataRange ${dexcomDate(DateTime.toEpochMillis(pulledAt))} 200`,
          `egvs ${dexcomDate(account.lateSeconds[0]! * 1000)}..${dexcomDate(newest + 1000)} 200`
        ])
        const lateStored = account.expectedLate.filter((r) => r !== undefined)
        assert.deepStrictEqual(
          [poll.result.inserted, poll.result.updated],
          [lateStored.length + newer.expected.length, 0]
        )
        assert.deepStrictEqual(
          yield* storedReadings(alice),
          [...account.expected, ...lateStored, ...newer.expected].sort(byTime)
        )
      })
    )
  )

  it.effect("readings stamped ahead of our clock are stored by the sync that sees them: Dexcom names them once", () =>
    withDexcom((fake) =>
      Effect.gen(function* () {
        // The transmitter's clock runs 20 minutes ahead: its newest readings are stamped after now.
        const series = egvSeries({ start: T0 - DAY, count: 293, recordIdPrefix: "ahead" })
        fake.addUser("SandboxUser1", { records: series.records })
        yield* TestClock.adjust("2 minutes")
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        const first = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
        assert.deepStrictEqual(dataCalls(first.requests), [
          "dataRange - 200",
          `egvs ${dexcomDate(T0 - DAY)}..${dexcomDate(T0 + 20 * MINUTE + 1000)} 200`
        ])
        assert.deepStrictEqual(yield* storedReadings(alice), [...series.expected].sort(byTime))
        yield* TestClock.adjust("30 minutes")
        const quiet = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
        assert.deepStrictEqual(dataCalls(quiet.requests).length, 1)
        assert.deepStrictEqual(yield* storedReadings(alice), [...series.expected].sort(byTime))
      })
    )
  )

  it.effect(
    "an account without readings yet: the first sync reads its window as before, the next polls ask since",
    () =>
      withDexcom((fake) =>
        Effect.gen(function* () {
          fake.addUser("SandboxUser1")
          yield* TestClock.adjust("2 minutes")
          const connection = yield* connectThroughConsent(fake, alice, "SandboxUser1")
          const sync = yield* Sync
          const first = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
          const from = DateTime.toEpochMillis(connection.backfillFrom)
          const to = yield* now
          assert.deepStrictEqual(dataCalls(first.requests), [
            "dataRange - 200",
            ...Array.from({ length: 3 }, (_, i) => {
              const start = from + i * 30 * DAY
              return `egvs ${dexcomDate(start)}..${dexcomDate(Math.min(start + 30 * DAY, to))} 200`
            })
          ])
          const pulledAt = lastSyncTimeOf(to)

          yield* TestClock.adjust("10 minutes")
          const sensor = egvSeries({ start: T0, count: 3, recordIdPrefix: "first" })
          fake.addRecords("SandboxUser1", sensor.records)
          yield* TestClock.adjust("10 minutes")
          const poll = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
          assert.deepStrictEqual(dataCalls(poll.requests), [
            `dataRange ${dexcomDate(DateTime.toEpochMillis(pulledAt))} 200`,
            `egvs ${dexcomDate(T0)}..${dexcomDate(T0 + 2 * 300_000 + 1000)} 200`
          ])
          assert.deepStrictEqual(yield* storedReadings(alice), [...sensor.expected].sort(byTime))
        })
      )
  )

  it.effect("a lastSyncTime far in the past: windows of at most 30 days, never before the backfill horizon", () =>
    withDexcom((fake) =>
      Effect.gen(function* () {
        const account = lateAccount()
        fake.addUser("SandboxUser1", { records: account.records })
        yield* TestClock.adjust("2 minutes")
        const connection = yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        yield* sync.sync(alice, "dexcom")
        const pulledAt = lastSyncTimeOf(yield* now)

        // 70 days pass without a poll (the connection waited for its user, say). Meanwhile the account received
        // 65 days of readings, and, older than the backfill horizon, a stretch that can never be fetched.
        yield* TestClock.adjust("70 days")
        const later = egvSeries({ start: T0 + 5 * DAY, count: 65 * 96, cadenceSeconds: 900, recordIdPrefix: "later" })
        const beyond = egvSeries({
          start: DateTime.toEpochMillis(connection.backfillFrom) - 3 * DAY,
          count: 100,
          cadenceSeconds: 900,
          recordIdPrefix: "beyond"
        })
        fake.addRecords("SandboxUser1", [...later.records, ...beyond.records])
        yield* TestClock.adjust("5 minutes")

        const poll = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
        const from = DateTime.toEpochMillis(connection.backfillFrom)
        const to = T0 + 5 * DAY + (65 * 96 - 1) * 900_000 + 1000
        const pieces = Math.ceil((to - from) / (30 * DAY))
        const calls = dataCalls(poll.requests)
        assert.strictEqual(calls[0], `dataRange ${dexcomDate(DateTime.toEpochMillis(pulledAt))} 200`)
        assert.deepStrictEqual(
          calls.slice(1),
          Array.from({ length: pieces }, (_, i) => {
            const start = from + i * 30 * DAY
            return `egvs ${dexcomDate(start)}..${dexcomDate(Math.min(start + 30 * DAY, to))} 200`
          })
        )
        assert.strictEqual(poll.result.windows, pieces)
        assert.strictEqual(poll.result.inserted, later.expected.length)
        assert.deepStrictEqual(yield* storedReadings(alice), [...account.expected, ...later.expected].sort(byTime))
      })
    )
  )

  it.effect("a dataRange that names EGVs without their range falls back to the overlap window", () =>
    withDexcom((fake) =>
      Effect.gen(function* () {
        const account = lateAccount()
        fake.addUser("SandboxUser1", { records: account.records, late: account.late })
        yield* TestClock.adjust("2 minutes")
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        yield* sync.sync(alice, "dexcom")
        const pulledAt = lastSyncTimeOf(yield* now)
        const lastSyncTime = dexcomDate(DateTime.toEpochMillis(pulledAt))

        yield* TestClock.adjust("20 minutes")
        fake.deliverLate("SandboxUser1")
        fake.inject(
          {
            kind: "body",
            body: JSON.stringify({ recordType: "dataRange", recordVersion: "3.0", egvs: { start: null, end: null } })
          },
          { path: DATA_RANGE }
        )
        const fallback = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
        // As before lastSyncTime: from 24 hours before the newest stored reading up to now. The hole began
        // 20 hours before T0, 10 minutes after that: inside the overlap, so the late records are stored.
        assert.deepStrictEqual(dataCalls(fallback.requests).slice(1), [
          `egvs ${dexcomDate(account.newest - DAY)}..${dexcomDate(yield* now)} 200`
        ])
        const lateStored = account.expectedLate.filter((r) => r !== undefined)
        assert.strictEqual(fallback.result.inserted, lateStored.length)
        // The answer said nothing of what changed since: the next poll asks from the same time again.
        assert.strictEqual(
          DateTime.toEpochMillis((yield* connectionOf(alice)).changesSince!),
          DateTime.toEpochMillis(pulledAt)
        )
        yield* TestClock.adjust("20 minutes")
        const next = yield* requestsDuring(fake, sync.sync(alice, "dexcom"))
        assert.deepStrictEqual(dataCalls(next.requests), [
          `dataRange ${lastSyncTime} 200`,
          `egvs ${dexcomDate(account.lateSeconds[0]! * 1000)}..${dexcomDate(account.lateSeconds.at(-1)! * 1000 + 1000)} 200`
        ])
        assert.deepStrictEqual([next.result.inserted, next.result.unchanged], [0, lateStored.length])
        assert.deepStrictEqual(yield* storedReadings(alice), [...account.expected, ...lateStored].sort(byTime))
      })
    )
  )

  it.effect("a lastSyncTime Dexcom would refuse is never sent: whole seconds, UTC, no zone", () =>
    withDexcom((fake) =>
      Effect.gen(function* () {
        fake.addUser("SandboxUser1", { records: lateAccount().records })
        yield* TestClock.adjust("2 minutes")
        yield* connectThroughConsent(fake, alice, "SandboxUser1")
        const sync = yield* Sync
        yield* sync.sync(alice, "dexcom")
        yield* TestClock.adjust(Duration.millis(17 * MINUTE + 41_789))
        yield* sync.sync(alice, "dexcom")
        const started = yield* now
        yield* TestClock.adjust("16 minutes")
        yield* sync.sync(alice, "dexcom")
        const asked = fake.requests.filter((r) => r.path === DATA_RANGE).map((r) => r.lastSyncTime)
        assert.deepStrictEqual(asked.slice(1), [
          dexcomDate(T0 + 2 * MINUTE - MINUTE),
          dexcomDate(Math.floor((started - MINUTE) / 1000) * 1000)
        ])
        for (const text of asked.slice(1)) assert.match(text!, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
      })
    )
  )
})
