import {
  CgmProvider,
  type CgmProviderShape,
  DataChanges,
  makeWindow,
  Reading,
  type UserId,
  windowContains
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, type Layer, Option, Schema } from "effect"

export interface CgmProviderHarness<R> {
  /** The provider under test, with whatever it needs (a fake server, stored credentials), fresh per test. */
  readonly makeLayer: () => Layer.Layer<CgmProvider | R, unknown>
  /** A user the provider holds readings for, in the window `dataWindow` of at most the provider's maximum. */
  readonly userWithData: UserId
  readonly dataWindow: Effect.Effect<{ readonly from: DateTime.Utc; readonly to: DateTime.Utc }, never, R>
  /** The readings the provider is known to hold for `userWithData` in `dataWindow`, if the harness knows them. */
  readonly expectedReadings?: Effect.Effect<number, never, R>
}

const decodeReading = Schema.decodeUnknownSync(Reading)

/** The behaviour every `CgmProvider` adapter must have. */
export const cgmProviderContract = <R>(name: string, harness: CgmProviderHarness<R>) =>
  describe(`CgmProvider contract: ${name}`, () => {
    const test = (title: string, body: (provider: CgmProviderShape) => Effect.Effect<void, unknown, R>) =>
      it.live(title, () =>
        Effect.gen(function* () {
          return yield* body(yield* CgmProvider)
        }).pipe(Effect.provide(harness.makeLayer()))
      )

    test("declares sane limits", (provider) =>
      Effect.sync(() => {
        const { maxWindow, maxHistory, lateDataOverlap, minPollInterval } = provider.limits
        assert.isTrue(Duration.isGreaterThan(maxWindow, Duration.zero))
        assert.isTrue(Duration.isGreaterThanOrEqualTo(lateDataOverlap, Duration.zero))
        assert.isTrue(Duration.isGreaterThan(minPollInterval, Duration.zero))
        if (Option.isSome(maxHistory)) assert.isTrue(Duration.isGreaterThan(maxHistory.value, Duration.zero))
      }))

    test("returns valid readings of that user, inside the window, in whole seconds", (provider) =>
      Effect.gen(function* () {
        const window = yield* harness.dataWindow
        const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        assert.isAbove(fetched.readings.length, 0)
        assert.isAtLeast(fetched.skippedWithoutValue, 0)
        if (harness.expectedReadings) assert.strictEqual(fetched.readings.length, yield* harness.expectedReadings)
        const seconds = new Set<number>()
        for (const reading of fetched.readings) {
          decodeReading(reading)
          assert.strictEqual(reading.userId, harness.userWithData)
          assert.strictEqual(reading.source.provider, provider.id)
          const millis = DateTime.toEpochMillis(reading.timestamp)
          assert.strictEqual(millis % 1000, 0)
          assert.isAtLeast(millis, DateTime.toEpochMillis(window.from))
          assert.isBelow(millis, DateTime.toEpochMillis(window.to))
          seconds.add(millis)
        }
        assert.strictEqual(seconds.size, fetched.readings.length, "one reading per instant")
      }))

    test("the same window asked twice gives the same readings", (provider) =>
      Effect.gen(function* () {
        const window = yield* harness.dataWindow
        const first = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        const second = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        const key = (readings: typeof first.readings) =>
          readings.map((r) => `${DateTime.toEpochMillis(r.timestamp)}:${r.glucoseMgDl}`).sort()
        assert.deepStrictEqual(key(second.readings), key(first.readings))
      }))

    test("an empty window gives no readings", (provider) =>
      Effect.gen(function* () {
        const window = yield* harness.dataWindow
        const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.from))
        assert.strictEqual(fetched.readings.length, 0)
      }))

    test("what the provider tells about the user's data agrees with the readings", (provider) =>
      Effect.gen(function* () {
        const window = yield* harness.dataWindow
        const changes = yield* provider.changes(harness.userWithData, Option.none())
        const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        const covered = (reading: Reading, from: DateTime.Utc, to: DateTime.Utc) =>
          !DateTime.isLessThan(reading.timestamp, from) && DateTime.isLessThan(reading.timestamp, to)
        DataChanges.$match(changes, {
          CannotTell: () => {},
          NoData: () => assert.strictEqual(fetched.readings.length, 0, "no data, yet readings"),
          Span: ({ earliest, latest }) => {
            assert.isFalse(DateTime.isGreaterThan(earliest, latest))
            const to = DateTime.add(latest, { seconds: 1 })
            for (const reading of fetched.readings) assert.isTrue(covered(reading, earliest, to), "outside the span")
          },
          // Asked without `since`, a provider tells what it holds, not what changed.
          ChangedSince: () => assert.fail("ChangedSince answered without a since")
        })
      }))

    test("asked what changed since before any data reached it, it names windows holding every reading", (provider) =>
      Effect.gen(function* () {
        // A provider that cannot tell what changed since a time gives no instant to ask from next time.
        if ((yield* provider.changes(harness.userWithData, Option.none())).pulledAt === undefined) return
        const changes = yield* provider.changes(harness.userWithData, Option.some(DateTime.makeUnsafe(0)))
        assert.strictEqual(changes._tag, "ChangedSince")
        if (changes._tag !== "ChangedSince") return
        for (const named of changes.windows) assert.isTrue(DateTime.isLessThan(named.from, named.to), "empty window")
        const window = yield* harness.dataWindow
        const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        assert.isAbove(fetched.readings.length, 0)
        for (const reading of fetched.readings) {
          assert.isTrue(
            changes.windows.some((named) => windowContains(named, reading.timestamp)),
            `${DateTime.formatIso(reading.timestamp)} is in no named window`
          )
        }
      }))
  })
