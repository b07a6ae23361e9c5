import {
  CgmProvider,
  type CgmProviderShape,
  DataChanges,
  makeReading,
  ProviderId,
  type TimeWindow,
  trendFromRate,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Duration, Effect, Layer, Option } from "effect"
import { CADENCE_SECONDS, formatDisplayTime, modelReadings, profileOf } from "./GlucoseModel.ts"

export const SIMULATOR_PROVIDER_ID = ProviderId.make("simulator")

/** The first instant the simulated sensors have data for. */
const SIMULATION_START_SECONDS = Date.UTC(2024, 0, 1) / 1000

/**
 * A `CgmProvider` that needs no account: every user id has a deterministic, realistic trace (see
 * `GlucoseModel`). Used by development mode's demo users, the tests and the benchmarks.
 */
export const makeSimulatorProvider = (): CgmProviderShape => {
  const lastRecordAt = (nowSeconds: number, phaseSeconds: number) =>
    Math.floor((nowSeconds - phaseSeconds) / CADENCE_SECONDS) * CADENCE_SECONDS + phaseSeconds

  return CgmProvider.of({
    id: SIMULATOR_PROVIDER_ID,
    limits: {
      maxWindow: Duration.days(30),
      maxHistory: Option.none(),
      lateDataOverlap: Duration.minutes(30),
      minPollInterval: Duration.minutes(1)
    },
    // Every record is known the moment it is measured: the span of the trace says all there is to say.
    changes: Effect.fn("SimulatorProvider.changes")(function* (userId: UserId) {
      const nowMillis = yield* Clock.currentTimeMillis
      return DataChanges.Span({
        earliest: DateTime.makeUnsafe(SIMULATION_START_SECONDS * 1000),
        latest: DateTime.makeUnsafe(lastRecordAt(Math.floor(nowMillis / 1000), profileOf(userId).phaseSeconds) * 1000)
      })
    }),
    fetchReadings: Effect.fn("SimulatorProvider.fetchReadings")(function* (userId: UserId, window: TimeWindow) {
      const nowMillis = yield* Clock.currentTimeMillis
      const profile = profileOf(userId)
      const from = Math.max(Math.ceil(DateTime.toEpochMillis(window.from) / 1000), SIMULATION_START_SECONDS)
      // A sensor has not measured the future: nothing after now, whatever the window says.
      const to = Math.min(Math.ceil(DateTime.toEpochMillis(window.to) / 1000), Math.floor(nowMillis / 1000) + 1)
      let skippedWithoutValue = 0
      const readings = []
      for (const record of modelReadings(profile, from, to)) {
        if (record.value === null) {
          skippedWithoutValue += 1
          continue
        }
        readings.push(
          makeReading({
            userId,
            timestamp: DateTime.makeUnsafe(record.epochSeconds * 1000),
            glucoseMgDl: record.value,
            trend: record.status === "ok" ? trendFromRate(record.trendRate) : "rateOutOfRange",
            trendRate: record.trendRate,
            status: record.status,
            source: { provider: SIMULATOR_PROVIDER_ID, recordId: `sim-${record.sequence}` },
            displayTime: formatDisplayTime(record.epochSeconds, profile.utcOffsetMinutes)
          })
        )
      }
      return { readings, skippedWithoutValue }
    })
  })
}

export const SimulatorProvider = {
  layer: Layer.sync(CgmProvider, makeSimulatorProvider)
} as const
