import {
  CallBudget,
  CgmProvider,
  DataChanges,
  fetchedFromRecords,
  InvalidProviderResponse,
  isBeyondReach,
  makeWindow,
  noReadings,
  ProviderId,
  type ProviderLimits,
  ProviderUnavailable,
  type TimeWindow,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Duration, Effect, Layer, Option, Result, Schema, SchemaIssue } from "effect"
import { HttpClientRequest } from "effect/http"
import { makeCallBudget } from "./CallBudget.ts"
import { type DexcomOperation, makeDexcomClient } from "./DexcomClient.ts"
import { normalizeEgvs } from "./DexcomNormalize.ts"
import { DexcomDataRangeResponse, type DexcomEgvRecord, DexcomEgvsResponse } from "./DexcomSchemas.ts"
import type { DexcomSettings } from "./DexcomSettings.ts"
import { formatDexcomDate, parseDexcomTime } from "./DexcomTime.ts"
import { makeDexcomTokens } from "./DexcomTokens.ts"

export const DEXCOM_PROVIDER_ID = ProviderId.make("dexcom")

/** The longest window one EGV call may cover. */
export const DEXCOM_MAX_WINDOW = Duration.days(30)

export const dexcomLimits: ProviderLimits = {
  maxWindow: DEXCOM_MAX_WINDOW,
  maxHistory: Option.none(),
  // A G7 backfills up to 24 hours of readings after a signal loss; they reach the API after newer ones.
  lateDataOverlap: Duration.hours(24),
  // Readings come every 5 minutes and reach the API hours late: polling more often only spends the budget.
  minPollInterval: Duration.minutes(5)
}

const SECOND = 1000
const MAX_WINDOW_MILLIS = Duration.toMillis(DEXCOM_MAX_WINDOW)

/**
 * How much earlier than the start of a pull the next pull's `lastSyncTime` is. Dexcom compares it with the time
 * each record reached its servers, on its own clock: a record that arrived just as we asked, or while our clock ran
 * ahead of Dexcom's, would otherwise be reported neither by this pull nor by the next one. Asking a little early
 * costs at most a record fetched twice (stored once).
 */
export const LAST_SYNC_TIME_MARGIN = Duration.minutes(1)

/** The `lastSyncTime` for the next pull of one that starts at `startMillis`: whole seconds, rounded down. */
export const lastSyncTimeOf = (startMillis: number): DateTime.Utc =>
  DateTime.makeUnsafe(Math.floor((startMillis - Duration.toMillis(LAST_SYNC_TIME_MARGIN)) / SECOND) * SECOND)

/**
 * The `startDate`/`endDate` pairs that cover a window in Dexcom's whole-second format: the start rounded down,
 * the end rounded up, and split again in the rare case that rounding pushes a 30-day window over the limit.
 */
export const dexcomQueries = (window: TimeWindow): ReadonlyArray<{ startDate: string; endDate: string }> => {
  const start = Math.floor(DateTime.toEpochMillis(window.from) / SECOND) * SECOND
  const end = Math.ceil(DateTime.toEpochMillis(window.to) / SECOND) * SECOND
  const queries = []
  for (let from = start; from < end; from += MAX_WINDOW_MILLIS) {
    queries.push({
      startDate: formatDexcomDate(from),
      endDate: formatDexcomDate(Math.min(from + MAX_WINDOW_MILLIS, end))
    })
  }
  return queries
}

const issueFormatter = SchemaIssue.makeFormatterStandardSchemaV1()

/** Where a body departs from the expected shape, by path only: a body holds health data, never logged. */
const shapeProblem = (error: Schema.SchemaError): string => {
  const path = issueFormatter(error.issue).issues[0]?.path ?? []
  if (path.length === 0) return "not the expected JSON document"
  return `unexpected content at ${path.map((segment) => String(typeof segment === "object" ? segment.key : segment)).join(".")}`
}

const decodeEgvs = Schema.decodeUnknownEffect(Schema.fromJsonString(DexcomEgvsResponse))
const decodeDataRange = Schema.decodeUnknownEffect(Schema.fromJsonString(DexcomDataRangeResponse))

/**
 * The Dexcom API v3 as a `CgmProvider` (docs/dexcom.md), with its OAuth authorization. Tokens are read
 * from and renewed into the `ConnectionStore`, sealed by the `TokenCipher`; every call is counted in the
 * application's `CallBudget`, shared by every replica through the store, and smoothed by one bucket per process.
 */
export const makeDexcomProvider = Effect.fnUntraced(function* (settings: DexcomSettings) {
  const provider = DEXCOM_PROVIDER_ID
  const budget = yield* makeCallBudget({
    provider,
    callsPerHour: settings.maxCallsPerHour,
    burst: settings.burst,
    maxWait: settings.budgetMaxWait
  })
  const client = yield* makeDexcomClient(provider, settings, budget, yield* CallBudget)
  const tokens = yield* makeDexcomTokens(provider, settings, client)

  /** A GET as the user; after a 401 the token is renewed once and the call made again. */
  const userGet = Effect.fnUntraced(function* (
    userId: UserId,
    operation: DexcomOperation,
    path: string,
    urlParams: Record<string, string> = {}
  ) {
    const request = (accessToken: string) =>
      HttpClientRequest.get(path, { urlParams }).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bearerToken(accessToken)
      )
    const accessToken = yield* tokens.accessToken(userId)
    let answer = yield* client.send(operation, request(accessToken))
    if (answer.status === 401) {
      answer = yield* client.send(operation, request(yield* tokens.renewRejected(userId, accessToken)))
      if (answer.status === 401) {
        return yield* new ProviderUnavailable({ provider, message: "Dexcom refused a freshly renewed access token" })
      }
    }
    if (answer.status !== 200) {
      return yield* new InvalidProviderResponse({
        provider,
        message: `Dexcom answered HTTP ${answer.status} to ${operation}`
      })
    }
    return answer.body
  })

  const invalid = (operation: DexcomOperation, problem: string) =>
    new InvalidProviderResponse({ provider, message: `Dexcom's ${operation} answer is unreadable: ${problem}` })

  /**
   * `dataRange`; with `since`, as `lastSyncTime`, which makes Dexcom name only the range of the EGVs that reached
   * it after that time (late ones older than the newest included), and none when nothing did.
   */
  const changes = Effect.fn("DexcomProvider.changes")(function* (userId: UserId, since: Option.Option<DateTime.Utc>) {
    const pulledAt = lastSyncTimeOf(yield* Clock.currentTimeMillis)
    const query = Option.match(since, {
      onNone: () => ({}),
      onSome: (instant) => ({ lastSyncTime: formatDexcomDate(DateTime.toEpochMillis(instant)) })
    })
    const body = yield* userGet(userId, "dataRange", "/v3/users/self/dataRange", query)
    const range = yield* decodeDataRange(body).pipe(
      Effect.mapError((error) => invalid("dataRange", shapeProblem(error)))
    )
    const egvs = range.egvs
    if (egvs === undefined || egvs === null) {
      // Asked since a time, no range means no EGV reached Dexcom since. Asked for everything, the user has none
      // yet: the first sync reads its window all the same, as it always has.
      return Option.isSome(since)
        ? DataChanges.ChangedSince({ windows: [], pulledAt })
        : DataChanges.CannotTell({ pulledAt })
    }
    const start = egvs.start?.systemTime
    const end = egvs.end?.systemTime
    if (start === undefined || end === undefined) {
      // Dexcom names EGVs but not where they are: fetch what a poll fetched before lastSyncTime, and ask from the
      // same time again next poll.
      yield* Effect.logWarning(
        "Dexcom's dataRange named EGVs without their range: the sync reads its usual window"
      ).pipe(Effect.annotateLogs({ userId }))
      return DataChanges.CannotTell({})
    }
    const first = parseDexcomTime(start)
    const last = parseDexcomTime(end)
    if (Option.isNone(first) || Option.isNone(last)) {
      return yield* invalid("dataRange", "an unreadable egvs systemTime")
    }
    const earliest = DateTime.min(first.value, last.value)
    const latest = DateTime.max(first.value, last.value)
    if (Option.isNone(since)) return DataChanges.Span({ earliest, latest, pulledAt })
    // The range's ends are records' instants: the window reaches just past the last one.
    return DataChanges.ChangedSince({
      windows: [makeWindow(earliest, DateTime.add(latest, { seconds: 1 }))],
      pulledAt
    })
  })

  const fetchReadings = Effect.fn("DexcomProvider.fetchReadings")(function* (userId: UserId, window: TimeWindow) {
    if (yield* isBeyondReach(dexcomLimits, window)) return noReadings
    const records: Array<DexcomEgvRecord> = []
    for (const query of dexcomQueries(window)) {
      const body = yield* userGet(userId, "egvs", "/v3/users/self/egvs", query)
      const egvs = yield* decodeEgvs(body).pipe(Effect.mapError((error) => invalid("egvs", shapeProblem(error))))
      records.push(...egvs.records)
    }
    const normalized = normalizeEgvs(provider, userId, records, window)
    if (Result.isFailure(normalized)) return yield* invalid("egvs", normalized.failure)
    return yield* fetchedFromRecords(provider, userId, normalized.success)
  })

  const consentUrl = (state: string) =>
    `${settings.baseUrl}/v2/oauth2/login?${new URLSearchParams({
      client_id: settings.clientId,
      redirect_uri: settings.redirectUri,
      response_type: "code",
      scope: "offline_access",
      state
    })}`

  return CgmProvider.of({
    id: provider,
    limits: dexcomLimits,
    changes,
    fetchReadings,
    authorization: { consentUrl, exchangeCode: tokens.exchangeCode }
  })
})

export const DexcomProvider = {
  make: makeDexcomProvider,
  /** Needs a `ConnectionStore`, a `CallBudget`, a `TokenCipher` and an `HttpClient` (e.g. `FetchHttpClient.layer`). */
  layer: (settings: DexcomSettings) => Layer.effect(CgmProvider, makeDexcomProvider(settings))
} as const
