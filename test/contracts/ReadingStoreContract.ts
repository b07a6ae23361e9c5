import { makeWindow, ReadingStore, readingKey } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Exit, type Layer, Option } from "effect"
import { type ManualClock, manualClock } from "../support/clock.ts"
import { at, plain, reading, series, T0, user } from "../support/fixtures.ts"

/**
 * The behaviour every `ReadingStore` adapter must have. `makeLayer` is called once per test and must give an
 * empty store. The store's clock is the test's: it stands at T0 until a test moves it.
 */
export const readingStoreContract = (name: string, makeLayer: () => Layer.Layer<ReadingStore, unknown>) =>
  describe(`ReadingStore contract: ${name}`, () => {
    const test = (
      title: string,
      body:
        | Effect.Effect<void, unknown, ReadingStore>
        | ((clock: ManualClock) => Effect.Effect<void, unknown, ReadingStore>)
    ) =>
      it.live(title, () => {
        // One clock per test: the suites of some adapters run their tests concurrently.
        const clock = manualClock(T0)
        return (Effect.isEffect(body) ? body : body(clock)).pipe(Effect.provide(makeLayer()), clock.provide)
      })

    test(
      "stores a batch and serves latest and range in time order",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const readings = series("u1", 12)
        const shuffled = [...readings].reverse()
        const result = yield* store.putMany(shuffled)
        assert.deepStrictEqual([result.inserted, result.updated, result.unchanged], [12, 0, 0])
        assert.strictEqual(result.changes.length, 12)
        assert.isTrue(result.changes.every((change) => change.kind === "created"))
        const latest = yield* store.latest(user("u1"))
        assert.deepStrictEqual(plain([Option.getOrThrow(latest)]), plain([readings[11]!]))
        const all = yield* store.range(user("u1"), makeWindow(at(-60), at(600)), 1000)
        assert.deepStrictEqual(plain(all), plain(readings))
      })
    )

    test(
      "keeps every field of a reading as given",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const full = reading("u1", 0, 250, {
          trend: "doubleUp",
          trendRate: 3.4,
          status: "ok",
          displayTime: "2026-02-01T01:00:01-06:59:59"
        })
        const sparse = reading("u1", 5, 400, {
          trend: "rateOutOfRange",
          trendRate: null,
          status: "high",
          source: { provider: full.source.provider, recordId: null }
        })
        yield* store.putMany([full, sparse])
        const stored = yield* store.range(user("u1"), makeWindow(at(0), at(10)), 10)
        assert.deepStrictEqual(plain(stored), plain([full, sparse]))
      })
    )

    test(
      "storing the same readings again changes nothing",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const readings = series("u1", 20)
        yield* store.putMany(readings)
        yield* store.markPublished(readings)
        const again = yield* store.putMany(readings)
        assert.deepStrictEqual([again.inserted, again.updated, again.unchanged], [0, 0, 20])
        assert.strictEqual(again.changes.length, 0)
        const all = yield* store.range(user("u1"), makeWindow(at(0), at(1000)), 1000)
        assert.strictEqual(all.length, 20)
      })
    )

    test(
      "a different measurement at the same instant is an update, kept and owed an event",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany([reading("u1", 0, 100), reading("u1", 5, 110)])
        yield* store.markPublished([reading("u1", 0, 100), reading("u1", 5, 110)])
        const result = yield* store.putMany([
          reading("u1", 0, 100),
          reading("u1", 5, 111),
          reading("u1", 10, 120),
          reading("u1", 0, 100, { trend: "fortyFiveUp" })
        ])
        assert.deepStrictEqual([result.inserted, result.updated, result.unchanged], [1, 2, 1])
        const kinds = result.changes.map((change) => `${change.kind}:${change.reading.glucoseMgDl}`).sort()
        assert.deepStrictEqual(kinds, ["created:120", "updated:100", "updated:111"])
        const latest = yield* store.latest(user("u1"))
        assert.strictEqual(Option.getOrThrow(latest).glucoseMgDl, 120)
        const stored = yield* store.range(user("u1"), makeWindow(at(0), at(6)), 10)
        assert.deepStrictEqual(
          stored.map((r) => [r.glucoseMgDl, r.trend]),
          [
            [100, "fortyFiveUp"],
            [111, "flat"]
          ]
        )
      })
    )

    test(
      "provenance alone (record id, display time) is not an update",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const original = reading("u1", 0, 100)
        yield* store.putMany([original])
        yield* store.markPublished([original])
        const relayed = reading("u1", 0, 100, {
          source: { provider: original.source.provider, recordId: "other-id" },
          displayTime: "2026-02-01T09:00:00+01:00"
        })
        const result = yield* store.putMany([relayed])
        assert.deepStrictEqual([result.inserted, result.updated, result.unchanged], [0, 0, 1])
        assert.strictEqual(result.changes.length, 0)
      })
    )

    test(
      "an unconfirmed event is owed (not changed) on the next write and by the sweep, until confirmed",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const readings = series("u1", 3)
        yield* store.putMany(readings)
        // The publish failed: nothing was confirmed. Storing the same readings again changes nothing, and says
        // which events are still owed; the sweep owes them too.
        const retry = yield* store.putMany(readings)
        assert.deepStrictEqual([retry.inserted, retry.updated, retry.unchanged], [0, 0, 3])
        assert.deepStrictEqual(retry.changes, [])
        assert.deepStrictEqual(
          retry.owed.map((change) => change.kind),
          ["created", "created", "created"]
        )
        const swept = yield* store.unpublished(10)
        assert.deepStrictEqual(
          swept.map((change) => readingKey(change.reading)).sort(),
          readings.map(readingKey).sort()
        )
        yield* store.markPublished(readings)
        assert.strictEqual((yield* store.unpublished(10)).length, 0)
        const confirmed = yield* store.putMany(readings)
        assert.deepStrictEqual([confirmed.changes.length, confirmed.owed.length], [0, 0])
      })
    )

    test(
      "an update of a never-confirmed insert is still owed as created",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany([reading("u1", 0, 100)])
        const result = yield* store.putMany([reading("u1", 0, 101)])
        assert.strictEqual(result.updated, 1)
        assert.deepStrictEqual(
          result.changes.map((change) => [change.kind, change.reading.glucoseMgDl]),
          [["created", 101]]
        )
      })
    )

    test(
      "confirming a stale measurement leaves the newer one owed",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany([reading("u1", 0, 100)])
        yield* store.putMany([reading("u1", 0, 105)])
        yield* store.markPublished([reading("u1", 0, 100)])
        const owed = yield* store.unpublished(10)
        assert.deepStrictEqual(
          owed.map((change) => change.reading.glucoseMgDl),
          [105]
        )
      })
    )

    test("unpublished answers oldest first and honours the limit", (clock) =>
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany([reading("u1", 0, 100)])
        clock.adjust("1 second")
        yield* store.putMany([reading("u2", 0, 100)])
        clock.adjust("1 second")
        yield* store.putMany([reading("u3", 0, 100)])
        const owed = yield* store.unpublished(2)
        assert.deepStrictEqual(
          owed.map((change) => change.reading.userId),
          [user("u1"), user("u2")]
        )
      }))

    test("claimUnpublished leaves a writer's publication alone for the claim, then takes it once per claim", (clock) =>
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const claim = Duration.minutes(1)
        const sweep = () => store.claimUnpublished({ limit: 10, now: clock.nowUtc(), claim })
        const users = (changes: ReadonlyArray<{ readonly reading: { readonly userId: string } }>) =>
          changes.map((change) => change.reading.userId)
        yield* store.putMany([reading("u1", 0, 100)])
        clock.adjust("30 seconds")
        yield* store.putMany([reading("u2", 0, 100)])
        // The writers are still publishing (their claims run until T0 + 60 s and T0 + 90 s).
        assert.deepStrictEqual(yield* sweep(), [])
        clock.adjust("30 seconds")
        assert.deepStrictEqual(users(yield* sweep()), ["u1"])
        // Claimed by that sweep: nobody else takes it before its claim ends, while u2's writer claim ends.
        clock.adjust("30 seconds")
        assert.deepStrictEqual(users(yield* sweep()), ["u2"])
        clock.adjust("29 seconds")
        assert.deepStrictEqual(yield* sweep(), [])
        clock.adjust("1 second")
        assert.deepStrictEqual(users(yield* sweep()), ["u1"])
        // Confirmed: owed no more. Still owed, unchanged: the sweep claimed it, so it waits for that claim.
        yield* store.markPublished([reading("u1", 0, 100)])
        clock.adjust("5 minutes")
        const last = yield* sweep()
        assert.deepStrictEqual(users(last), ["u2"])
        assert.deepStrictEqual(
          last.map((change) => [change.kind, change.reading.glucoseMgDl]),
          [["created", 100]]
        )
        assert.deepStrictEqual(yield* sweep(), [])
        // `unpublished` still answers every owed event, claimed or not.
        assert.deepStrictEqual(users(yield* store.unpublished(10)), ["u2"])
      }))

    test("a writer's update starts a new publication: the sweep leaves the new measurement to it", (clock) =>
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const claim = Duration.minutes(1)
        const sweep = () => store.claimUnpublished({ limit: 10, now: clock.nowUtc(), claim })
        yield* store.putMany([reading("u1", 0, 100)])
        clock.adjust("2 minutes")
        assert.strictEqual((yield* sweep()).length, 1)
        clock.adjust("2 minutes")
        const update = yield* store.putMany([reading("u1", 0, 105)])
        assert.strictEqual(update.updated, 1)
        clock.adjust("59 seconds")
        assert.deepStrictEqual(yield* sweep(), [])
        clock.adjust("1 second")
        assert.deepStrictEqual(
          (yield* sweep()).map((change) => [change.kind, change.reading.glucoseMgDl]),
          [["created", 105]]
        )
      }))

    test("releaseUnpublished frees a failed publication for the next sweep at once, unless it changed since", (clock) =>
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const sweep = () => store.claimUnpublished({ limit: 10, now: clock.nowUtc(), claim: Duration.minutes(1) })
        yield* store.putMany([reading("u1", 0, 100), reading("u2", 0, 100), reading("u3", 0, 100)])
        yield* store.markPublished([reading("u3", 0, 100)])
        // u2 changed since the failed publication (another writer publishes the new value); u3 is confirmed.
        yield* store.releaseUnpublished([reading("u1", 0, 100), reading("u2", 0, 90), reading("u3", 0, 100)])
        assert.deepStrictEqual(
          (yield* sweep()).map((change) => change.reading.userId),
          [user("u1")]
        )
        assert.deepStrictEqual(yield* sweep(), [])
      }))

    test(
      "range: from inclusive, to exclusive, limit from the oldest, other users apart",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany([...series("u1", 10), ...series("u2", 10, () => 200)])
        const window = yield* store.range(user("u1"), makeWindow(at(10), at(30)), 100)
        assert.deepStrictEqual(
          window.map((r) => DateTime.toEpochMillis(r.timestamp)),
          [10, 15, 20, 25].map((m) => DateTime.toEpochMillis(at(m)))
        )
        assert.isTrue(window.every((r) => r.userId === user("u1")))
        const limited = yield* store.range(user("u1"), makeWindow(at(0), at(1000)), 3)
        assert.deepStrictEqual(
          limited.map((r) => DateTime.toEpochMillis(r.timestamp)),
          [0, 5, 10].map((m) => DateTime.toEpochMillis(at(m)))
        )
        // A bound inside a second: a reading at 10:00:00 is inside [09:59:59.5, …) and outside […, 10:00:00.5) is not.
        const fractional = yield* store.range(
          user("u1"),
          makeWindow(
            DateTime.subtractDuration(at(10), Duration.millis(500)),
            DateTime.addDuration(at(10), Duration.millis(500))
          ),
          10
        )
        assert.strictEqual(fractional.length, 1)
        assert.deepStrictEqual(yield* store.range(user("nobody"), makeWindow(at(0), at(100)), 10), [])
      })
    )

    test(
      "range newest first: the newest ones up to the limit, newest first, with the same bounds",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany([...series("u1", 10), ...series("u2", 10, () => 200)])
        const minutes = (readings: ReadonlyArray<{ readonly timestamp: DateTime.Utc }>) =>
          readings.map((r) => (DateTime.toEpochMillis(r.timestamp) - DateTime.toEpochMillis(at(0))) / 60_000)
        assert.deepStrictEqual(
          minutes(yield* store.range(user("u1"), makeWindow(at(10), at(30)), 100, "newestFirst")),
          [25, 20, 15, 10]
        )
        assert.deepStrictEqual(
          minutes(yield* store.range(user("u1"), makeWindow(at(0), at(1000)), 3, "newestFirst")),
          [45, 40, 35]
        )
        assert.deepStrictEqual(yield* store.range(user("u1"), makeWindow(at(0), at(1000)), 0, "newestFirst"), [])
        assert.deepStrictEqual(yield* store.range(user("nobody"), makeWindow(at(0), at(100)), 10, "newestFirst"), [])
        assert.deepStrictEqual(
          minutes(yield* store.range(user("u1"), makeWindow(at(0), at(1000)), 3, "oldestFirst")),
          [0, 5, 10]
        )
      })
    )

    test(
      "range newest first over a long window with a large limit (read in segments) gives the newest, in order",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const readings = series("u1", 2100)
        yield* store.putMany(readings)
        const newest = yield* store.range(user("u1"), makeWindow(at(-30 * 1440), at(30 * 1440)), 1000, "newestFirst")
        assert.deepStrictEqual(plain(newest), plain(readings.slice(1100).reverse()))
      })
    )

    test(
      "latest is none for a user without readings",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany(series("u1", 2))
        assert.isTrue(Option.isNone(yield* store.latest(user("u2"))))
      })
    )

    test(
      "deleteUser removes one user's readings only",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany([...series("u1", 7), ...series("u2", 3)])
        assert.strictEqual(yield* store.deleteUser(user("u1")), 7)
        assert.isTrue(Option.isNone(yield* store.latest(user("u1"))))
        assert.strictEqual((yield* store.range(user("u2"), makeWindow(at(0), at(100)), 10)).length, 3)
        assert.strictEqual(yield* store.deleteUser(user("u1")), 0)
      })
    )

    test(
      "a 90-day batch (25,920 readings) is stored whole",
      Effect.gen(function* () {
        const store = yield* ReadingStore
        const readings = series("u1", 25_920, (i) => 40 + (i % 360))
        const result = yield* store.putMany(readings)
        assert.strictEqual(result.inserted, 25_920)
        const all = yield* store.range(user("u1"), makeWindow(at(0), at(25_920 * 5)), 50_000)
        assert.strictEqual(all.length, 25_920)
        assert.deepStrictEqual(plain([all[25_919]!]), plain([readings[25_919]!]))
      })
    )

    test(
      "ping succeeds on a healthy store",
      Effect.gen(function* () {
        assert.isTrue(Exit.isSuccess(yield* Effect.exit(ReadingStore.use((store) => store.ping))))
      })
    )
  })
