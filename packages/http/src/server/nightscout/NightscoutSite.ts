import {
  Ingest,
  makeWindow,
  mgDlToMmolL,
  type NightscoutAccess,
  NightscoutSites,
  type PresentedCredential,
  type Reading,
  ReadingStore,
  type TimeWindow,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Effect, Metric, Option, Result } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpServerResponse } from "effect/http"
import { NIGHTSCOUT_MAX_COUNT } from "../../api/NightscoutSiteQuery.ts"
import { makeTurns, readInPieces } from "../Turns.ts"
import { type EntryFormat, entriesResponse, secondsOfEntryId, toNightscoutEntry } from "./NightscoutFormats.ts"
import { type EntriesRequest, entryFilter } from "./NightscoutQueries.ts"
import { nightscoutError, unauthorized } from "./NightscoutResponses.ts"
import { parseUpload, readUploadBody } from "./NightscoutUploads.ts"

const SHA1_HEX = /^[0-9a-f]{40}$/i

export const nightscoutRefusals = Metric.counter("bg_ingest_nightscout_refusals_total", {
  description: "Requests to users' Nightscout sites refused for a missing, wrong or read-only credential"
})
/**
 * Reads of more entries than followers and uploaders ask for (`count` above this, up to 50,000) are read in pieces
 * and take turns: one per user, two in the process (sites under `/ns/:userId` and at the root together), the others
 * waiting; what is read every few minutes never waits.
 */
const ORDINARY_COUNT = 1_000
const longReadsWaiting = Metric.gauge("bg_ingest_nightscout_reads_waiting", {
  description: "Long reads of users' Nightscout sites (more than 1,000 entries) waiting for their turn"
})
const longReadTurn = makeTurns(2, longReadsWaiting)

/** Nightscout's answer to a request without a date bound: the last 4 days. */
const DEFAULT_REACH_MILLIS = 4 * 86_400_000

interface CredentialQuery {
  readonly token?: string | undefined
  readonly secret?: string | undefined
}

/**
 * What a request presents, in Nightscout's places: the `api-secret` header (the SHA-1 hex of the secret, or a
 * token plain or hashed), `?secret=` (SHA-1 hex) and `?token=`. A `Bearer` JWT (API v2) is not supported.
 */
export const presentedCredentials = (
  headers: { readonly "api-secret"?: string | undefined },
  query: CredentialQuery
): ReadonlyArray<PresentedCredential> => {
  const presented: Array<PresentedCredential> = []
  const asGiven = (value: string): PresentedCredential =>
    SHA1_HEX.test(value) ? { form: "sha1", value } : { form: "token", value }
  const header = headers["api-secret"]?.trim()
  if (header !== undefined && header !== "") presented.push(asGiven(header))
  if (query.secret !== undefined && query.secret !== "") presented.push({ form: "sha1", value: query.secret })
  if (query.token !== undefined && query.token !== "") presented.push(asGiven(query.token))
  return presented
}

interface SiteRequest {
  /** The user of the path (`/ns/:userId`), or none at the root, where the credential names the user. */
  readonly site: Option.Option<UserId>
  readonly headers: { readonly "api-secret"?: string | undefined }
  readonly query: CredentialQuery
}

const unavailable = (error: { readonly _tag: string; readonly message: string }) =>
  Effect.logError("Dependency unavailable", {
    dependency: error._tag === "EventPublishError" ? "broker" : "store",
    reason: error.message
  }).pipe(
    Effect.as(
      nightscoutError(
        503,
        error._tag === "EventPublishError"
          ? "The event broker is unavailable; send it again later"
          : "The store is unavailable; send it again later"
      )
    )
  )

const settings = {
  units: "mg/dl",
  timeFormat: 24,
  customTitle: "bg-ingest",
  theme: "default",
  language: "en",
  showPlugins: "",
  enable: [],
  authDefaultRoles: "denied",
  thresholds: { bgHigh: 260, bgTargetTop: 180, bgTargetBottom: 80, bgLow: 55 },
  alarmTypes: ["predict"]
}

/**
 * The behaviour of every user's Nightscout site, shared by the site under `/ns/:userId` and the one at the root.
 * Reads need any credential of the site, writes its API secret; a refused credential gets Nightscout's 401, and a
 * store or broker outage a 503, never another 5xx, so that uploaders send again.
 */
export const makeNightscoutSite = Effect.gen(function* () {
  const sites = yield* NightscoutSites
  const store = yield* ReadingStore
  const ingest = yield* Ingest

  /** Up to `count` of the user's readings in the window, newest first; long reads in pieces, in their turn. */
  const newestFirst = (userId: UserId, window: TimeWindow, count: number) =>
    count <= ORDINARY_COUNT
      ? store.range(userId, window, count, "newestFirst")
      : longReadTurn(
          userId,
          readInPieces((piece, limit, order) => store.range(userId, piece, limit, order), window, count, "newestFirst")
        )

  /** The access a request has, or the answer that refuses it. */
  const refuse = Metric.update(nightscoutRefusals, 1).pipe(Effect.andThen(Effect.fail(unauthorized())))

  const access = (request: SiteRequest, needs: "read" | "write") =>
    sites.authorize(presentedCredentials(request.headers, request.query), request.site).pipe(
      Effect.flatMap((granted) =>
        needs === "write" && granted.role !== "uploader" ? refuse : Effect.succeed(granted)
      ),
      Effect.catchTags({
        NightscoutAccessDenied: () => refuse,
        NightscoutSiteStoreError: (error) => Effect.flatMap(unavailable(error), Effect.fail)
      })
    )

  /** Runs `body` with the request's access, answering the refusal when there is none. */
  const guarded = <E, R>(
    request: SiteRequest,
    needs: "read" | "write",
    body: (granted: NightscoutAccess) => Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
  ) =>
    Effect.flatMap(access(request, needs), body).pipe(
      Effect.catchIf(HttpServerResponse.isHttpServerResponse, Effect.succeed)
    )

  const status = (request: SiteRequest) =>
    guarded(request, "read", () =>
      Effect.map(Clock.currentTimeMillis, (now) =>
        HttpServerResponse.jsonUnsafe({
          status: "ok",
          name: "bg-ingest",
          version: "15.0.7",
          serverTime: new Date(now).toISOString(),
          serverTimeEpoch: now,
          apiEnabled: true,
          careportalEnabled: false,
          boluscalcEnabled: false,
          settings,
          extendedSettings: {},
          authorized: null,
          runtimeState: "loaded"
        })
      )
    )

  /** Nightscout's check of an admin credential: 200 `{ status: "ok" }` for the API secret. */
  const experimentsTest = (request: SiteRequest) =>
    guarded(request, "write", () => Effect.succeed(HttpServerResponse.jsonUnsafe({ status: "ok" })))

  /** Always 200, as Nightscout's: what the credential presented may do here (a probe, not counted as a refusal). */
  const verifyAuth = (request: SiteRequest) =>
    sites.authorize(presentedCredentials(request.headers, request.query), request.site).pipe(
      Effect.map(Option.some),
      Effect.catchTag("NightscoutAccessDenied", () => Effect.succeed(Option.none<NightscoutAccess>())),
      Effect.map((granted) =>
        HttpServerResponse.jsonUnsafe({
          status: 200,
          message: {
            canRead: Option.isSome(granted),
            canWrite: Option.isSome(granted) && granted.value.role === "uploader",
            isAdmin: Option.isSome(granted) && granted.value.role === "uploader",
            message: Option.isSome(granted) ? "OK" : "UNAUTHORIZED",
            rolefound: Option.isSome(granted) ? "FOUND" : "NOTFOUND",
            permissions: Option.isSome(granted) ? "ROLE" : "DEFAULT"
          }
        })
      ),
      Effect.catchTag("NightscoutSiteStoreError", unavailable)
    )

  /** The readings a query selects: newest first, `count` of them, inside its date bounds (else the last 4 days). */
  const select = Effect.fnUntraced(function* (userId: UserId, request: EntriesRequest) {
    const window = (from: number, to: number) => makeWindow(DateTime.makeUnsafe(from), DateTime.makeUnsafe(to))
    if (request.target?.kind === "id") {
      const seconds = secondsOfEntryId(userId, request.target.id)
      if (Option.isNone(seconds)) return []
      return yield* store.range(userId, window(seconds.value * 1000, seconds.value * 1000 + 1000), 1)
    }
    const now = yield* Clock.currentTimeMillis
    const filter = entryFilter(request, now - DEFAULT_REACH_MILLIS, now + 86_400_000)
    if (filter.none || filter.from >= filter.to) return []
    return yield* newestFirst(userId, window(filter.from, filter.to), filter.count)
  })

  const entries = (request: SiteRequest & EntriesRequest, format: EntryFormat) =>
    guarded(request, "read", (granted) =>
      select(granted.userId, request).pipe(
        Effect.map((readings) => entriesResponse(readings.map(toNightscoutEntry), format)),
        Effect.catchTag("ReadingStoreError", unavailable)
      )
    )

  const upload = (request: SiteRequest, raw: HttpServerRequest.HttpServerRequest) =>
    guarded(request, "write", (granted) =>
      Effect.gen(function* () {
        const body = yield* readUploadBody(raw)
        const parsed = parseUpload(body, granted.userId, yield* Clock.currentTimeMillis)
        if (Result.isFailure(parsed)) return yield* parsed.failure
        const { readings, skipped, entries: received } = parsed.success
        const result = yield* ingest.ingest(granted.userId, readings)
        yield* Effect.logInfo("Nightscout upload stored", {
          userId: granted.userId,
          received,
          inserted: result.inserted,
          updated: result.updated,
          notReadings: skipped.notSgv + skipped.noValue + skipped.errorCode
        })
        return HttpServerResponse.jsonUnsafe(readings.map(toNightscoutEntry))
      }).pipe(
        Effect.scoped,
        Effect.catchTags({
          UploadRefused: (refused) =>
            Effect.succeed(nightscoutError(refused.status, refused.description, refused.errors)),
          ReadingStoreError: unavailable,
          EventPublishError: unavailable
        })
      )
    )

  /** Collections the site does not keep: reads answer an empty list, writes are accepted (and dropped). */
  const emptyList = (request: SiteRequest) =>
    guarded(request, "read", () => Effect.succeed(HttpServerResponse.jsonUnsafe([])))

  const acceptAndDrop = (request: SiteRequest, raw: HttpServerRequest.HttpServerRequest) =>
    guarded(request, "write", () =>
      readUploadBody(raw).pipe(
        Effect.scoped,
        Effect.as(HttpServerResponse.jsonUnsafe([])),
        Effect.catchTag("UploadRefused", (refused) =>
          Effect.succeed(nightscoutError(refused.status, refused.description))
        )
      )
    )

  /** `/pebble`: the newest readings with their change from the one before, as Pebble watch faces and followers read it. */
  const pebble = (
    request: SiteRequest & { readonly count?: number | undefined; readonly units?: "mgdl" | "mmol" | undefined }
  ) =>
    guarded(request, "read", (granted) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const count = Math.min(Math.max(request.count ?? 1, 1), NIGHTSCOUT_MAX_COUNT - 1)
        const readings = yield* newestFirst(
          granted.userId,
          makeWindow(DateTime.makeUnsafe(now - DEFAULT_REACH_MILLIS), DateTime.makeUnsafe(now + 86_400_000)),
          count + 1
        )
        const mmol = request.units === "mmol"
        const scaled = (mgDl: number) => (mmol ? Math.round(mgDlToMmolL(mgDl) * 10) / 10 : mgDl)
        const bgs = readings.slice(0, count).map((reading: Reading, index) => {
          const previous = readings[index + 1]
          const entry = toNightscoutEntry(reading)
          return {
            sgv: mmol ? scaled(reading.glucoseMgDl).toFixed(1) : String(reading.glucoseMgDl),
            trend: entry.trend,
            direction: entry.direction,
            datetime: entry.date,
            bgdelta:
              previous === undefined
                ? 0
                : Math.round((scaled(reading.glucoseMgDl) - scaled(previous.glucoseMgDl)) * 10) / 10
          }
        })
        return HttpServerResponse.jsonUnsafe({ status: [{ now }], bgs, cals: [] })
      }).pipe(Effect.catchTag("ReadingStoreError", unavailable))
    )

  return { status, verifyAuth, experimentsTest, entries, upload, emptyList, acceptAndDrop, pebble }
})
