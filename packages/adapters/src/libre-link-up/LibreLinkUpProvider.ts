import {
  CgmProvider,
  cannotTellChanges,
  fetchedFromRecords,
  InvalidProviderResponse,
  isBeyondReach,
  makeWindow,
  NeedsReauthorization,
  noReadings,
  ProviderId,
  type ProviderLimits,
  ProviderUnavailable,
  ReadingStore,
  type TimeWindow,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Layer, Option, Result, Schema } from "effect"
import { type LibreAnswer, makeLibreLinkUpClient } from "./LibreLinkUpClient.ts"
import { makeLibreLinkUpLogin } from "./LibreLinkUpLogin.ts"
import {
  type LibreReading,
  normalizeLibreGraph,
  reconcileWithStored,
  SAME_MEASUREMENT_MILLIS
} from "./LibreLinkUpNormalize.ts"
import { LibreGraph } from "./LibreLinkUpSchemas.ts"
import { type LibreSession, makeLibreLinkUpSessions } from "./LibreLinkUpSessions.ts"
import type { LibreLinkUpSettings } from "./LibreLinkUpSettings.ts"

export const LIBRE_LINK_UP_PROVIDER_ID = ProviderId.make("libre-link-up")

/** The graph holds about the last 12 hours: the whole depth of history LibreLinkUp offers. */
export const LIBRE_HISTORY = Duration.hours(12)

export const libreLinkUpLimits: ProviderLimits = {
  maxWindow: LIBRE_HISTORY,
  maxHistory: Option.some(LIBRE_HISTORY),
  // The history arrives 15–20 minutes behind the current reading, and fills a gap only when the phone comes back:
  // each poll reads the whole graph anyway, so each poll re-ingests all of it (storing is idempotent).
  lateDataOverlap: LIBRE_HISTORY,
  // The current reading changes once a minute; polling more often only spends the account's shared limit.
  minPollInterval: Duration.minutes(1)
}

const decodeGraph = Schema.decodeUnknownOption(LibreGraph)

/** LibreLinkUp's answer when the follower may no longer read the patient (sharing revoked, patient removed). */
const PATIENT_GONE = new Set(["couldNotLoadPatient", "followerNotConnectToPatient"])

/**
 * FreeStyle Libre through LibreLinkUp, the follower service, as a `CgmProvider`: the followed patient's graph
 * (about 12 hours of history at 5-minute spacing) and current reading, through the follower account's login,
 * connected with a username, a password and the patient to read (`credentialsLogin`). Credentials are read from
 * the `ConnectionStore`, sealed by the `TokenCipher`; readings already stored (`ReadingStore`) decide where a
 * measurement seen twice is kept, so that it is stored once.
 */
export const makeLibreLinkUpProvider = Effect.fnUntraced(function* (settings: LibreLinkUpSettings) {
  const provider = LIBRE_LINK_UP_PROVIDER_ID
  const store = yield* ReadingStore
  const client = yield* makeLibreLinkUpClient(provider, settings)
  const logins = yield* makeLibreLinkUpLogin(provider, settings, client)
  const sessions = yield* makeLibreLinkUpSessions(provider, settings, client, logins)

  const read = (session: LibreSession) =>
    client.send({
      operation: "graph",
      baseUrl: session.baseUrl,
      path: `/llu/connections/${encodeURIComponent(session.patientId)}/graph`,
      auth: { token: session.token, accountId: session.accountId },
      account: session.account,
      retry: true
    })

  const graphOf = Effect.fnUntraced(function* (userId: UserId, session: LibreSession, answer: LibreAnswer) {
    const envelope = Option.getOrUndefined(answer.envelope)
    if (envelope === undefined) {
      return yield* new InvalidProviderResponse({
        provider,
        message: `LibreLinkUp's graph answer is not JSON (HTTP ${answer.httpStatus})`
      })
    }
    if (envelope.status === 4 && PATIENT_GONE.has(envelope.error?.message ?? "")) {
      return yield* new NeedsReauthorization({
        provider,
        message: `LibreLinkUp no longer lets this account read the patient (${envelope.error?.message}): the patient may have stopped sharing; connect again`
      })
    }
    if (answer.httpStatus !== 200 || envelope.status !== 0) {
      return yield* new ProviderUnavailable({
        provider,
        message: `LibreLinkUp refused the graph read (HTTP ${answer.httpStatus}${typeof envelope.status === "number" ? `, status ${envelope.status}` : ""}${envelope.message === "RequiredHeaderMissing" ? ", a required header is missing" : ""})`
      })
    }
    const graph = decodeGraph(envelope.data)
    if (Option.isNone(graph)) {
      return yield* new InvalidProviderResponse({ provider, message: "LibreLinkUp's graph answer is unreadable" })
    }
    yield* sessions.adopt(userId, session.sealed, envelope.ticket)
    return graph.value
  })

  /**
   * The patient's graph, read now: a sync on request gets fresh data; the scheduler reads it at most once a minute
   * (`minPollInterval`). After a 401, one login and one more read.
   */
  const readGraph = Effect.fnUntraced(function* (userId: UserId) {
    let session = yield* sessions.session(userId, null)
    let answer = yield* read(session)
    if (answer.httpStatus === 401 && !session.fresh) {
      session = yield* sessions.session(userId, session.token)
      answer = yield* read(session)
    }
    if (answer.httpStatus === 401) {
      return yield* new ProviderUnavailable({
        provider,
        message: "LibreLinkUp refused a ticket it had just issued (HTTP 401); no further login before the next sync"
      })
    }
    return yield* graphOf(userId, session, answer)
  })

  /** The provider's readings already stored within 20 s of `readings`, which may be the same measurements. */
  const storedAround = Effect.fnUntraced(function* (userId: UserId, readings: ReadonlyArray<LibreReading>) {
    if (readings.length === 0) return []
    const first = DateTime.toEpochMillis(readings[0]!.reading.timestamp)
    const last = DateTime.toEpochMillis(readings.at(-1)!.reading.timestamp)
    const around = makeWindow(
      DateTime.makeUnsafe(first - SAME_MEASUREMENT_MILLIS),
      DateTime.makeUnsafe(last + SAME_MEASUREMENT_MILLIS)
    )
    const stored = yield* store
      .range(userId, around, 100_000)
      .pipe(
        Effect.mapError(
          (error) =>
            new ProviderUnavailable({ provider, message: `Cannot read the stored readings to match: ${error.message}` })
        )
      )
    return stored.filter((reading) => reading.source.provider === provider)
  })

  const fetchReadings = Effect.fn("LibreLinkUpProvider.fetchReadings")(function* (userId: UserId, window: TimeWindow) {
    if (yield* isBeyondReach(libreLinkUpLimits, window)) return noReadings
    const graph = yield* readGraph(userId)
    const normalized = normalizeLibreGraph(provider, userId, graph, window)
    if (Result.isFailure(normalized)) {
      return yield* new InvalidProviderResponse({
        provider,
        message: `LibreLinkUp's graph answer is unreadable: ${normalized.failure}`
      })
    }
    const { readings, skippedWithoutValue, rejected } = normalized.success
    const placed = reconcileWithStored(readings, yield* storedAround(userId, readings), window)
    return yield* fetchedFromRecords(provider, userId, { readings: placed, skippedWithoutValue, rejected })
  })

  return CgmProvider.of({
    id: provider,
    limits: libreLinkUpLimits,
    // LibreLinkUp cannot tell what changed without reading the graph: the sync reads it each poll.
    changes: cannotTellChanges,
    fetchReadings,
    credentialsLogin: { verify: sessions.verify }
  })
})

export const LibreLinkUpProvider = {
  make: makeLibreLinkUpProvider,
  /**
   * Needs a `ConnectionStore`, a `ReadingStore` (to keep a measurement seen twice in one place), a `TokenCipher`,
   * an `HttpClient` (e.g. `FetchHttpClient.layer`) and `effect/crypto`'s `Digest` and `Mac`.
   */
  layer: (settings: LibreLinkUpSettings) => Layer.effect(CgmProvider, makeLibreLinkUpProvider(settings))
} as const
