import { CgmProvider, type CgmProviderShape, makeWindow, Reading, type UserId } from "@bg-ingest/domain"
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

    test("the available range, when known, covers the readings", (provider) =>
      Effect.gen(function* () {
        const range = yield* provider.availableRange(harness.userWithData)
        if (Option.isNone(range)) return
        assert.isFalse(DateTime.isGreaterThan(range.value.earliest, range.value.latest))
        const window = yield* harness.dataWindow
        const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        for (const reading of fetched.readings) {
          assert.isFalse(DateTime.isLessThan(reading.timestamp, range.value.earliest))
          assert.isFalse(DateTime.isGreaterThan(reading.timestamp, range.value.latest))
        }
      }))
  })
