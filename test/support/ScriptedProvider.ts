import {
  CgmProvider,
  type CgmProviderShape,
  DataChanges,
  type ProviderError,
  ProviderId,
  type Reading,
  type TimeWindow,
  type UserId,
  windowContains
} from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Option } from "effect"

export interface ScriptedProvider {
  readonly provider: CgmProviderShape
  /** The provider's truth: what each user's sensor recorded. */
  readonly setReadings: (userId: UserId, readings: ReadonlyArray<Reading>) => void
  /** The windows fetched so far, in order. */
  readonly fetches: Array<{ readonly userId: UserId; readonly window: TimeWindow }>
  /** The next `fetchReadings` calls fail with these errors, one each; `null` lets that call succeed. */
  readonly failNext: (...errors: ReadonlyArray<ProviderError | null>) => void
  /** Each fetch takes this long (on the Clock, so TestClock drives it). */
  readonly setLatency: (latency: Duration.Duration) => void
  /** How many fetches ran at once, at most. */
  readonly maxConcurrentFetches: () => number
  /** Whether `changes` tells the span of the data (default) or that it cannot tell. */
  readonly setReportsRange: (reports: boolean) => void
  /** From now on `changes` answers what `answer` says (a provider that can tell what changed since). */
  readonly setChanges: (answer: (userId: UserId, since: Option.Option<DateTime.Utc>) => DataChanges) => void
  /** The `since` of every `changes` call so far, in order. */
  readonly changesAsked: Array<{ readonly userId: UserId; readonly since: Option.Option<DateTime.Utc> }>
}

/** A `CgmProvider` whose data, failures and latency a test controls. */
export const makeScriptedProvider = (options?: {
  readonly id?: string
  readonly maxWindow?: Duration.Duration
  readonly lateDataOverlap?: Duration.Duration
}): ScriptedProvider => {
  const id = ProviderId.make(options?.id ?? "scripted")
  const truth = new Map<UserId, ReadonlyArray<Reading>>()
  const fetches: Array<{ readonly userId: UserId; readonly window: TimeWindow }> = []
  const failures: Array<ProviderError | null> = []
  let latency = Duration.zero
  let inFlight = 0
  let maxInFlight = 0
  let reportsRange = true
  let scriptedChanges: ((userId: UserId, since: Option.Option<DateTime.Utc>) => DataChanges) | undefined
  const changesAsked: Array<{ readonly userId: UserId; readonly since: Option.Option<DateTime.Utc> }> = []

  const provider = CgmProvider.of({
    id,
    limits: {
      maxWindow: options?.maxWindow ?? Duration.days(1),
      maxHistory: Option.none(),
      lateDataOverlap: options?.lateDataOverlap ?? Duration.hours(1),
      minPollInterval: Duration.minutes(1)
    },
    changes: (userId, since) =>
      Effect.sync(() => {
        changesAsked.push({ userId, since })
        if (scriptedChanges !== undefined) return scriptedChanges(userId, since)
        if (!reportsRange) return DataChanges.CannotTell({})
        const readings = truth.get(userId) ?? []
        if (readings.length === 0) return DataChanges.NoData({})
        const millis = readings.map((r) => DateTime.toEpochMillis(r.timestamp))
        return DataChanges.Span({
          earliest: DateTime.makeUnsafe(Math.min(...millis)),
          latest: DateTime.makeUnsafe(Math.max(...millis))
        })
      }),
    fetchReadings: (userId, window) =>
      Effect.gen(function* () {
        fetches.push({ userId, window })
        inFlight += 1
        maxInFlight = Math.max(maxInFlight, inFlight)
        yield* Effect.sleep(latency)
        const failure = failures.shift()
        if (failure !== undefined && failure !== null) return yield* Effect.fail(failure)
        const readings = (truth.get(userId) ?? []).filter((r) => windowContains(window, r.timestamp))
        return { readings, skippedWithoutValue: 0 }
      }).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            inFlight -= 1
          })
        )
      )
  })

  return {
    provider,
    setReadings: (userId, readings) => truth.set(userId, readings),
    fetches,
    failNext: (...errors) => failures.push(...errors),
    setLatency: (value) => {
      latency = value
    },
    maxConcurrentFetches: () => maxInFlight,
    setReportsRange: (reports) => {
      reportsRange = reports
    },
    setChanges: (answer) => {
      scriptedChanges = answer
    },
    changesAsked
  }
}
