import { CgmProvider, type CgmProviderShape, makeWindow, Reading, type UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, type Layer, Option, Schema } from "effect"
import { manualClock } from "../support/clock.ts"

export interface CgmProviderHarness<R> {
  /** The provider under test, with whatever it needs (a fake server, stored credentials), fresh per test. */
  readonly makeLayer: () => Layer.Layer<CgmProvider | R, unknown>
  /** A user the provider holds readings for, in the window `dataWindow` of at most the provider's maximum. */
  readonly userWithData: UserId
  readonly dataWindow: Effect.Effect<{ readonly from: DateTime.Utc; readonly to: DateTime.Utc }, never, R>
  /** What the provider holds for `userWithData` in `dataWindow`: readings with a value, and records without. */
  readonly expected: Effect.Effect<{ readonly readings: number; readonly skippedWithoutValue: number }, never, R>
  /** Whether the provider tells the span of a user's data (`availableRange`), or always says it does not know. */
  readonly availableRange: "reported" | "unknown"
}

/** The instant the contract runs at: the provider, its fake server and the harness's data all read this clock. */
export const CONTRACT_NOW = "2026-02-10T12:00:00Z"

const decodeReading = Schema.decodeUnknownSync(Reading)

/** The behaviour every `CgmProvider` adapter must have. */
export const cgmProviderContract = <R>(name: string, harness: CgmProviderHarness<R>) =>
  describe(`CgmProvider contract: ${name}`, () => {
    const test = (title: string, body: (provider: CgmProviderShape) => Effect.Effect<void, unknown, R>) =>
      it.live(title, () =>
        Effect.gen(function* () {
          return yield* body(yield* CgmProvider)
        }).pipe(Effect.provide(harness.makeLayer()), manualClock(CONTRACT_NOW).provide)
      )

    test("declares sane limits", (provider) =>
      Effect.sync(() => {
        const { maxWindow, maxHistory, lateDataOverlap, minPollInterval } = provider.limits
        assert.isTrue(Duration.isGreaterThan(maxWindow, Duration.zero))
        assert.isTrue(Duration.isGreaterThanOrEqualTo(lateDataOverlap, Duration.zero))
        assert.isTrue(Duration.isGreaterThan(minPollInterval, Duration.zero))
        if (Option.isSome(maxHistory)) assert.isTrue(Duration.isGreaterThan(maxHistory.value, Duration.zero))
      }))

    test("returns exactly the user's valid readings inside the window, in whole seconds", (provider) =>
      Effect.gen(function* () {
        const window = yield* harness.dataWindow
        const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        const expected = yield* harness.expected
        assert.isAbove(expected.readings, 0, "the harness holds data in its window")
        assert.strictEqual(fetched.readings.length, expected.readings)
        assert.strictEqual(fetched.skippedWithoutValue, expected.skippedWithoutValue)
        const seconds = new Set<number>()
        for (const reading of fetched.readings) {
          decodeReading(reading)
          assert.strictEqual(reading.userId, harness.userWithData)
          assert.strictEqual(reading.source.provider, provider.id)
          const millis = DateTime.toEpochMillis(reading.timestamp)
          assert.strictEqual(millis % 1000, 0)
          assert.isTrue(
            millis >= DateTime.toEpochMillis(window.from) && millis < DateTime.toEpochMillis(window.to),
            `${DateTime.formatIso(reading.timestamp)} is outside the window`
          )
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

    if (harness.availableRange === "reported") {
      test("the available range it reports covers the readings", (provider) =>
        Effect.gen(function* () {
          const range = yield* provider.availableRange(harness.userWithData)
          assert.isTrue(Option.isSome(range), "a provider that reports its range reports it for a user with data")
          const { earliest, latest } = Option.getOrThrow(range)
          assert.isFalse(DateTime.isGreaterThan(earliest, latest))
          const window = yield* harness.dataWindow
          const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
          for (const reading of fetched.readings) {
            assert.isFalse(DateTime.isLessThan(reading.timestamp, earliest))
            assert.isFalse(DateTime.isGreaterThan(reading.timestamp, latest))
          }
        }))
    } else {
      test("it says it does not know the available range, rather than guess one", (provider) =>
        Effect.gen(function* () {
          assert.isTrue(Option.isNone(yield* provider.availableRange(harness.userWithData)))
        }))
    }
  })
