import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import {
  budgetDeferrals,
  type ConnectionStatus,
  ConnectionStore,
  makeReading,
  newConnection,
  ProviderId,
  ProviderUnavailable,
  RateLimited,
  type Reading,
  Scheduler,
  Sync,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Deferred, Duration, Effect, Fiber, Metric, Option } from "effect"
import { TestClock } from "effect/testing"
import { domainLayer } from "../support/domain.ts"
import { makeScriptedProvider } from "../support/ScriptedProvider.ts"

const NOW = DateTime.makeUnsafe("2026-02-10T12:00:00Z")
const scripted = ProviderId.make("scripted")
const millis = DateTime.toEpochMillis

const dayOf = (userId: UserId): ReadonlyArray<Reading> =>
  Array.from({ length: 288 }, (_, index) =>
    makeReading({
      userId,
      timestamp: DateTime.subtract(NOW, { minutes: (288 - index) * 5 }),
      glucoseMgDl: 100 + (index % 50),
      source: { provider: scripted, recordId: null }
    })
  )

const addConnection = (userId: UserId, status: ConnectionStatus = "active", nextPollAt: DateTime.Utc | null = NOW) =>
  ConnectionStore.use((store) =>
    store.upsert({
      ...newConnection({
        userId,
        provider: scripted,
        backfillFrom: DateTime.subtract(NOW, { days: 1 }),
        credentials: null,
        now: NOW
      }),
      status,
      nextPollAt
    })
  )

const connectionOf = (userId: UserId) =>
  ConnectionStore.use((store) => store.get(userId, scripted)).pipe(Effect.map(Option.getOrThrow))

const users = (count: number) => Array.from({ length: count }, (_, index) => UserId.make(`user-${index}`))

describe("Scheduler", () => {
  it.effect("syncs every due connection, at most `concurrency` at once", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      control.setLatency(Duration.seconds(1))
      for (const userId of users(7)) {
        control.setReadings(userId, dayOf(userId))
        yield* addConnection(userId)
      }
      const scheduler = yield* Scheduler
      const cycle = yield* Effect.forkChild(scheduler.runCycle)
      yield* TestClock.adjust("10 seconds")
      const report = yield* Fiber.join(cycle)
      assert.deepStrictEqual(report, { claimed: 7, succeeded: 7, failed: 0, republished: 0, deferred: 0 })
      assert.strictEqual(control.maxConcurrentFetches(), 2)
      const events = yield* InMemoryEventLog.use((log) => log.events)
      assert.strictEqual(events.length, 7 * 288)
    }).pipe(Effect.provide(domainLayer([control.provider], { scheduler: { concurrency: 2 } })))
  })

  it.effect("leaves alone what is not due, needs re-authorization or is disconnected", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [due, later, reauth, gone] = users(4) as [UserId, UserId, UserId, UserId]
      for (const userId of [due, later, reauth, gone]) control.setReadings(userId, dayOf(userId))
      yield* addConnection(due)
      yield* addConnection(later, "active", DateTime.add(NOW, { minutes: 1 }))
      yield* addConnection(reauth, "needs_reauthorization", null)
      yield* addConnection(gone, "disconnected", null)
      const report = yield* Scheduler.use((scheduler) => scheduler.runCycle)
      assert.strictEqual(report.claimed, 1)
      assert.deepStrictEqual(
        control.fetches.map((fetch) => fetch.userId),
        [due]
      )
    }).pipe(Effect.provide(domainLayer([control.provider])))
  })

  it.effect("one user's failure does not stop the others, and is retried after its backoff", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [first, second, third] = users(3) as [UserId, UserId, UserId]
      for (const userId of [first, second, third]) {
        control.setReadings(userId, dayOf(userId))
        yield* addConnection(userId)
      }
      control.failNext(new ProviderUnavailable({ provider: scripted, message: "HTTP 500" }))
      const scheduler = yield* Scheduler
      const report = yield* scheduler.runCycle
      assert.deepStrictEqual([report.claimed, report.succeeded, report.failed], [3, 2, 1])
      const failed = yield* connectionOf(first)
      assert.strictEqual(failed.status, "error")
      // Not due again until its backoff (15–30 s) has passed.
      assert.strictEqual((yield* scheduler.runCycle).claimed, 0)
      yield* TestClock.adjust("31 seconds")
      const retry = yield* scheduler.runCycle
      assert.deepStrictEqual([retry.claimed, retry.succeeded], [1, 1])
      assert.strictEqual((yield* connectionOf(first)).status, "active")
    }).pipe(Effect.provide(domainLayer([control.provider], { scheduler: { concurrency: 1 } })))
  })

  it.effect("a sync that hangs is abandoned after the timeout and recorded, without stalling the cycle", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [slow, fast] = users(2) as [UserId, UserId]
      control.setReadings(slow, dayOf(slow))
      control.setReadings(fast, dayOf(fast))
      yield* addConnection(slow)
      yield* addConnection(fast, "active", DateTime.add(NOW, { seconds: 1 }))
      control.setLatency(Duration.hours(1))
      const scheduler = yield* Scheduler
      const cycle = yield* Effect.forkChild(scheduler.runCycle)
      yield* TestClock.adjust("3 minutes")
      const report = yield* Fiber.join(cycle)
      assert.deepStrictEqual([report.claimed, report.failed], [1, 1])
      const abandoned = yield* connectionOf(slow)
      assert.strictEqual(abandoned.status, "error")
      assert.strictEqual(abandoned.lastError, "Sync did not finish within 2m")
      assert.isNotNull(abandoned.nextPollAt)
    }).pipe(Effect.provide(domainLayer([control.provider], { scheduler: { syncTimeout: Duration.minutes(2) } })))
  })

  it.effect("run polls each connection again after its interval", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [userId] = users(1) as [UserId]
      control.setReadings(userId, dayOf(userId))
      control.setReportsRange(false)
      yield* addConnection(userId)
      const runner = yield* Effect.forkChild(Scheduler.use((scheduler) => scheduler.run))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(control.fetches.length, 1)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(control.fetches.length, 1)
      // 15 minutes plus up to 10 % jitter, found at the next 5-second tick.
      yield* TestClock.adjust("7 minutes")
      assert.strictEqual(control.fetches.length, 2)
      yield* Fiber.interrupt(runner)
    }).pipe(Effect.provide(domainLayer([control.provider])))
  })

  it.effect("each cycle re-publishes events that were stored but never confirmed", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [userId] = users(1) as [UserId]
      control.setReadings(userId, dayOf(userId))
      yield* addConnection(userId)
      const log = yield* InMemoryEventLog
      yield* log.failNext(1)
      const scheduler = yield* Scheduler
      const first = yield* scheduler.runCycle
      assert.deepStrictEqual([first.failed, first.republished], [1, 0])
      assert.strictEqual((yield* log.events).length, 0)
      // The connection is backing off, but the sweep publishes what is owed now.
      const second = yield* scheduler.runCycle
      assert.deepStrictEqual([second.claimed, second.republished], [0, 288])
      assert.strictEqual((yield* log.events).length, 288)
      assert.strictEqual((yield* scheduler.runCycle).republished, 0)
    }).pipe(Effect.provide(domainLayer([control.provider])))
  })

  it.effect("runUntil: asked to stop mid-sync, it claims nothing more and lets the sync in flight finish", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [first, second] = users(2) as [UserId, UserId]
      control.setReadings(first, dayOf(first))
      control.setReadings(second, dayOf(second))
      yield* addConnection(first)
      yield* addConnection(second, "active", DateTime.add(NOW, { seconds: 30 }))
      control.setLatency(Duration.seconds(20))
      const stop = yield* Deferred.make<void>()
      const runner = yield* Effect.forkChild(Scheduler.use((scheduler) => scheduler.runUntil(stop)))
      yield* TestClock.adjust("5 seconds")
      assert.strictEqual(control.fetches.length, 1)
      // The shutdown begins while the first sync waits on its provider.
      yield* Deferred.succeed(stop, undefined)
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.join(runner)
      const finished = yield* connectionOf(first)
      assert.strictEqual(finished.status, "active")
      assert.isNotNull(finished.syncedThrough)
      assert.strictEqual((yield* InMemoryEventLog.use((log) => log.events)).length, 288)
      // The second connection came due during the shutdown and was left for the next start.
      yield* TestClock.adjust("1 minute")
      assert.strictEqual(control.fetches.length, 1)
    }).pipe(Effect.provide(domainLayer([control.provider])))
  })
})

describe("Scheduler: one connection's bug never stops the others", () => {
  it.effect("a sync that dies is backed off as a failure; every other due connection is synced", () => {
    const control = makeScriptedProvider()
    const broken = UserId.make("broken")
    const dying = {
      ...control.provider,
      fetchReadings: (userId: UserId, window: Parameters<typeof control.provider.fetchReadings>[1]) =>
        userId === broken ? Effect.die(new Error("a provider bug")) : control.provider.fetchReadings(userId, window)
    }
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      for (const userId of [...users(3), broken]) {
        control.setReadings(userId, dayOf(userId))
        yield* addConnection(userId)
      }
      const report = yield* Scheduler.use((scheduler) => scheduler.runCycle)
      assert.deepStrictEqual([report.claimed, report.succeeded, report.failed], [4, 3, 1])
      for (const userId of users(3)) assert.strictEqual((yield* connectionOf(userId)).status, "active")
      const failed = yield* connectionOf(broken)
      assert.strictEqual(failed.status, "error")
      assert.strictEqual(failed.lastError, "Sync failed unexpectedly (see the service's log)")
      assert.isTrue(DateTime.isGreaterThan(failed.nextPollAt!, NOW))
    }).pipe(Effect.provide(domainLayer([dying])))
  })
})

describe("Scheduler: leases between replicas", () => {
  /** A second replica on the same stores: its own scheduler (its own lease holder) and its own `Sync`. */
  const otherReplica = Effect.gen(function* () {
    const sync = yield* Sync.make
    return yield* Scheduler.make.pipe(Effect.provideService(Sync, sync))
  })

  it.effect("a connection waiting for a slot and then syncing longer than a lease stays with its replica", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [first, second] = users(2) as [UserId, UserId]
      for (const userId of [first, second]) {
        control.setReadings(userId, dayOf(userId))
        yield* addConnection(userId)
      }
      // One sync at a time, 4 minutes each: the second connection waits 4 minutes, then syncs until minute 8,
      // past the end of the 5-minute lease it was claimed with.
      control.setLatency(Duration.minutes(4))
      const a = yield* Scheduler
      const b = yield* otherReplica
      const cycle = yield* Effect.forkChild(a.runCycle)
      yield* TestClock.adjust("6 minutes")
      assert.deepStrictEqual(
        control.fetches.map((fetch) => fetch.userId),
        [first, second]
      )
      // The lease was renewed every third of a lease: the other replica finds nothing due.
      assert.strictEqual(millis((yield* connectionOf(second)).nextPollAt!) > millis(NOW) + 6 * 60_000, true)
      assert.strictEqual((yield* b.runCycle).claimed, 0)
      yield* TestClock.adjust("3 minutes")
      assert.deepStrictEqual(yield* Fiber.join(cycle), {
        claimed: 2,
        succeeded: 2,
        failed: 0,
        republished: 0,
        deferred: 0
      })
      assert.strictEqual(control.fetches.length, 2, "each connection synced once, by one replica")
      // Done: the connection's next poll is its regular one, not a lease that is renewed no more.
      const done = yield* connectionOf(second)
      assert.strictEqual(done.status, "active")
      assert.isTrue(millis(done.nextPollAt!) >= millis(NOW) + (8 + 15) * 60_000)
      yield* TestClock.adjust("10 minutes")
      assert.strictEqual(millis((yield* connectionOf(second)).nextPollAt!), millis(done.nextPollAt!))
    }).pipe(
      Effect.provide(
        domainLayer([control.provider], {
          scheduler: { concurrency: 1, lease: Duration.minutes(5), syncTimeout: Duration.minutes(10) }
        })
      )
    )
  })

  it.effect("a replica whose lease was taken (it stalled past its end) abandons that sync", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [userId] = users(1) as [UserId]
      control.setReadings(userId, dayOf(userId))
      yield* addConnection(userId)
      control.setLatency(Duration.minutes(4))
      const cycle = yield* Effect.forkChild(Scheduler.use((scheduler) => scheduler.runCycle))
      yield* TestClock.adjust("30 seconds")
      // As if this replica had stalled past its lease: another one took the connection, with a lease of its own.
      const store = yield* ConnectionStore
      const taken = yield* store.claimDue({
        now: DateTime.add(NOW, { hours: 1 }),
        leaseUntil: DateTime.add(NOW, { hours: 2 }),
        providers: [scripted],
        limit: 1,
        holder: "another replica"
      })
      assert.strictEqual(taken.length, 1)
      // The next renewal (at a third of the 5-minute lease) finds the lease gone: the sync here stops.
      yield* TestClock.adjust("80 seconds")
      assert.deepStrictEqual(yield* Fiber.join(cycle), {
        claimed: 0,
        succeeded: 0,
        failed: 0,
        republished: 0,
        deferred: 0
      })
      assert.strictEqual((yield* InMemoryEventLog.use((log) => log.events)).length, 0)
      // The other replica's lease is untouched.
      assert.strictEqual(millis((yield* connectionOf(userId)).nextPollAt!), millis(DateTime.add(NOW, { hours: 2 })))
    }).pipe(Effect.provide(domainLayer([control.provider], { scheduler: { lease: Duration.minutes(5) } })))
  })

  it.effect("a stopping replica gives back the connections it has not started: another takes them at once", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const all = users(3)
      for (const userId of all) {
        control.setReadings(userId, dayOf(userId))
        yield* addConnection(userId)
      }
      control.setLatency(Duration.minutes(1))
      const stop = yield* Deferred.make<void>()
      const a = yield* Effect.forkChild(Scheduler.use((scheduler) => scheduler.runUntil(stop)))
      yield* TestClock.adjust("30 seconds")
      yield* Deferred.succeed(stop, undefined)
      yield* TestClock.adjust("30 seconds")
      yield* Fiber.join(a)
      // The sync in flight finished; the two others are due now, well before their 5-minute lease would end.
      assert.strictEqual((yield* connectionOf(all[0]!)).status, "active")
      for (const userId of all.slice(1)) {
        assert.strictEqual(millis((yield* connectionOf(userId)).nextPollAt!), millis(NOW) + 60_000)
      }
      const b = yield* otherReplica
      const taken = yield* Effect.forkChild(b.runCycle)
      yield* TestClock.adjust("2 minutes")
      assert.deepStrictEqual(yield* Fiber.join(taken), {
        claimed: 2,
        succeeded: 2,
        failed: 0,
        republished: 0,
        deferred: 0
      })
      assert.deepStrictEqual(
        control.fetches.map((fetch) => fetch.userId),
        all
      )
    }).pipe(Effect.provide(domainLayer([control.provider], { scheduler: { concurrency: 1 } })))
  })

  it.effect("a sync cut short (a shutdown past its grace) gives its connection back", () => {
    const control = makeScriptedProvider()
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [userId] = users(1) as [UserId]
      control.setReadings(userId, dayOf(userId))
      yield* addConnection(userId)
      control.setLatency(Duration.minutes(1))
      const a = yield* Effect.forkChild(Scheduler.use((scheduler) => scheduler.runCycle))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.interrupt(a)
      assert.strictEqual(millis((yield* connectionOf(userId)).nextPollAt!), millis(NOW) + 10_000)
      const b = yield* otherReplica
      const taken = yield* Effect.forkChild(b.runCycle)
      yield* TestClock.adjust("1 minute")
      assert.strictEqual((yield* Fiber.join(taken)).succeeded, 1)
    }).pipe(Effect.provide(domainLayer([control.provider])))
  })
})

describe("Scheduler: the call budget all replicas share", () => {
  it.effect("a sync the shared budget stops is deferred to the window's end, not failed, and counted", () => {
    const control = makeScriptedProvider()
    const deferrals = Metric.value(Metric.withAttributes(budgetDeferrals, { provider: "scripted" })).pipe(
      Effect.map((state) => Number(state.count))
    )
    return Effect.gen(function* () {
      yield* TestClock.setTime(millis(NOW))
      const [spent, lucky] = users(2) as [UserId, UserId]
      for (const userId of [spent, lucky]) {
        control.setReadings(userId, dayOf(userId))
        yield* addConnection(userId)
      }
      yield* ConnectionStore.use((store) => store.update(spent, scripted, { consecutiveFailures: 2, status: "error" }))
      const before = yield* deferrals
      control.failNext(
        new RateLimited({
          provider: scripted,
          retryAfter: Duration.seconds(42),
          message: "The call budget is spent for now",
          budgetSpent: true
        })
      )
      const report = yield* Scheduler.use((scheduler) => scheduler.runCycle)
      assert.deepStrictEqual(report, { claimed: 2, succeeded: 1, failed: 0, republished: 0, deferred: 1 })
      const deferred = yield* connectionOf(spent)
      // Its status and its count of failures are as they were; only its next poll moved, to the window's end.
      assert.deepStrictEqual(
        [deferred.status, deferred.consecutiveFailures, deferred.lastError, millis(deferred.nextPollAt!)],
        ["error", 2, null, millis(NOW) + 42_000]
      )
      assert.strictEqual((yield* deferrals) - before, 1)
      assert.strictEqual((yield* connectionOf(lucky)).status, "active")
      // When the window has ended, it is synced.
      yield* TestClock.adjust("42 seconds")
      const retry = yield* Scheduler.use((scheduler) => scheduler.runCycle)
      assert.deepStrictEqual([retry.claimed, retry.succeeded], [1, 1])
      assert.strictEqual((yield* connectionOf(spent)).status, "active")
    }).pipe(Effect.provide(domainLayer([control.provider], { scheduler: { concurrency: 1 } })))
  })
})
