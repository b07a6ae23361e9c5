import {
  CgmProvider,
  cannotTellChanges,
  fetchedFromRecords,
  InvalidProviderResponse,
  isBeyondReach,
  noReadings,
  ProviderId,
  type ProviderLimits,
  ProviderUnavailable,
  type TimeWindow,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Duration, Effect, Layer, Option, Redacted, Result, Schema } from "effect"
import { makeDexcomShareClient } from "./DexcomShareClient.ts"
import { normalizeShareValues } from "./DexcomShareNormalize.ts"
import { ShareGlucoseValues } from "./DexcomShareSchemas.ts"
import { isSessionExpired, makeDexcomShareSessions } from "./DexcomShareSessions.ts"
import type { DexcomShareSettings } from "./DexcomShareSettings.ts"

export const DEXCOM_SHARE_PROVIDER_ID = ProviderId.make("dexcom-share")

/** `ReadPublisherLatestGlucoseValues` looks back at most 1440 minutes and answers at most 288 values. */
export const SHARE_MAX_MINUTES = 1440
export const SHARE_MAX_COUNT = 288

export const dexcomShareLimits: ProviderLimits = {
  maxWindow: Duration.minutes(SHARE_MAX_MINUTES),
  // Share keeps only the last 24 hours: a new connection's backfill and every window start there at the earliest.
  maxHistory: Option.some(Duration.minutes(SHARE_MAX_MINUTES)),
  // A G7 backfills readings missed during a signal loss up to 24 hours late, after newer ones; the read covers
  // the whole day in one call anyway.
  lateDataOverlap: Duration.hours(24),
  // One reading every 5 minutes: polling Share more often only costs calls on a service without a published limit.
  minPollInterval: Duration.minutes(5)
}

/**
 * The `minutes` that reach back from `nowMillis` to the window's start (a minute more for the two clocks'
 * disagreement), within Share's limit.
 */
export const shareMinutes = (window: TimeWindow, nowMillis: number): number =>
  Math.min(SHARE_MAX_MINUTES, Math.max(1, Math.ceil((nowMillis - DateTime.toEpochMillis(window.from)) / 60_000) + 1))

const decodeValues = Schema.decodeUnknownEffect(Schema.fromJsonString(ShareGlucoseValues))

/**
 * Dexcom Share (docs/dexcom-share.md) as a `CgmProvider`: near real-time readings of the last 24 hours through
 * the publisher account's login, connected with a username and password (`credentialsLogin`) instead of OAuth.
 * Credentials are read from the `ConnectionStore`, sealed by the `TokenCipher`; sessions stay in memory.
 */
export const makeDexcomShareProvider = Effect.fnUntraced(function* (settings: DexcomShareSettings) {
  const provider = DEXCOM_SHARE_PROVIDER_ID
  const client = yield* makeDexcomShareClient(provider, settings)
  const sessions = yield* makeDexcomShareSessions(provider, settings, client)

  const read = (sessionId: string, minutes: number) =>
    client.send("glucose", {
      urlParams: { sessionId: Redacted.make(sessionId), minutes, maxCount: SHARE_MAX_COUNT },
      retry: true
    })

  /** The values of the last `minutes`; after a session error one new session (unless this one is brand new). */
  const readValues = Effect.fnUntraced(function* (userId: UserId, minutes: number) {
    let session = yield* sessions.session(userId, null)
    let answer = yield* read(session.sessionId, minutes)
    if (answer._tag === "Refused" && isSessionExpired(answer.code) && !session.fresh) {
      session = yield* sessions.session(userId, session.sessionId)
      answer = yield* read(session.sessionId, minutes)
    }
    if (answer._tag === "Refused") {
      return yield* new ProviderUnavailable({
        provider,
        message: isSessionExpired(answer.code)
          ? `Dexcom Share refused a session it had just opened (${answer.code})`
          : `Dexcom Share refused the glucose read (HTTP ${answer.status}, ${answer.code})`
      })
    }
    return yield* decodeValues(answer.body).pipe(
      Effect.mapError(
        () =>
          new InvalidProviderResponse({ provider, message: "Dexcom Share's glucose answer is not a list of values" })
      )
    )
  })

  const fetchReadings = Effect.fn("DexcomShareProvider.fetchReadings")(function* (userId: UserId, window: TimeWindow) {
    if (yield* isBeyondReach(dexcomShareLimits, window)) return noReadings
    const now = yield* Clock.currentTimeMillis
    const values = yield* readValues(userId, shareMinutes(window, now))
    const normalized = normalizeShareValues(provider, userId, values, window)
    if (Result.isFailure(normalized)) {
      return yield* new InvalidProviderResponse({
        provider,
        message: `Dexcom Share's glucose answer is unreadable: ${normalized.failure}`
      })
    }
    return yield* fetchedFromRecords(provider, userId, normalized.success)
  })

  return CgmProvider.of({
    id: provider,
    limits: dexcomShareLimits,
    // Share cannot tell anything about a user's data without reading it: the sync fetches from its cursor to now.
    changes: cannotTellChanges,
    fetchReadings,
    credentialsLogin: { verify: sessions.verify }
  })
})

export const DexcomShareProvider = {
  make: makeDexcomShareProvider,
  /**
   * Needs a `ConnectionStore`, a `TokenCipher`, an `HttpClient` (e.g. `FetchHttpClient.layer`) and
   * `effect/crypto`'s `Mac`.
   */
  layer: (settings: DexcomShareSettings) => Layer.effect(CgmProvider, makeDexcomShareProvider(settings))
} as const
