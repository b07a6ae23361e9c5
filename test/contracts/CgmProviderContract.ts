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
import { manualClock } from "../support/clock.ts"

export interface CgmProviderHarness<R> {
  /** The provider under test, with whatever it needs (a fake server, stored credentials), fresh per test. */
  readonly makeLayer: () => Layer.Layer<CgmProvider | R, unknown>
  /** A user the provider holds readings for, in the window `dataWindow` of at most the provider's maximum. */
  readonly userWithData: UserId
  readonly dataWindow: Effect.Effect<{ readonly from: DateTime.Utc; readonly to: DateTime.Utc }, never, R>
  /** What the provider holds for `userWithData` in `dataWindow`: readings with a value, and records without. */
  readonly expected: Effect.Effect<{ readonly readings: number; readonly skippedWithoutValue: number }, never, R>
  /**
   * What the provider tells about a user's data (`changes`): the span it holds; that span and, asked since an
   * instant it gave, the windows that changed; or nothing at all.
   */
  readonly tells: "span" | "changes-since" | "nothing"
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

    const covered = (reading: Reading, from: DateTime.Utc, to: DateTime.Utc) =>
      !DateTime.isLessThan(reading.timestamp, from) && DateTime.isLessThan(reading.timestamp, to)

    test(`what it tells about the user's data (${harness.tells}) agrees with the readings`, (provider) =>
      Effect.gen(function* () {
        const window = yield* harness.dataWindow
        const changes = yield* provider.changes(harness.userWithData, Option.none())
        const fetched = yield* provider.fetchReadings(harness.userWithData, makeWindow(window.from, window.to))
        if (harness.tells === "nothing") {
          assert.strictEqual(changes._tag, "CannotTell", "a provider that tells nothing says so")
          return
        }
        // Asked without `since`, a provider tells what it holds, not what changed.
        assert.strictEqual(changes._tag, "Span")
        if (!DataChanges.$is("Span")(changes)) return
        assert.isFalse(DateTime.isGreaterThan(changes.earliest, changes.latest))
        const to = DateTime.add(changes.latest, { seconds: 1 })
        for (const reading of fetched.readings)
          assert.isTrue(covered(reading, changes.earliest, to), "outside the span")
      }))

    if (harness.tells === "changes-since") {
      test("asked what changed since before any data reached it, it names windows holding every reading", (provider) =>
        Effect.gen(function* () {
          const first = yield* provider.changes(harness.userWithData, Option.none())
          assert.isDefined(first.pulledAt, "an instant to ask from next time")
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
    } else {
      test("it gives no instant to ask what changed since, so a sync never asks it", (provider) =>
        Effect.gen(function* () {
          assert.isUndefined((yield* provider.changes(harness.userWithData, Option.none())).pulledAt)
        }))
    }
  })
