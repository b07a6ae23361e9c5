import { type ProviderId, ProviderUnavailable, RateLimited } from "@bg-ingest/domain"
import { Clock, Duration, Effect, Option, type Redacted, Schema } from "effect"
import { type Headers, HttpClient, HttpClientRequest } from "effect/http"
import { delayAfter429, readAnswer, retryTransient, TransientFailure } from "../provider-http/ProviderHttp.ts"
import { LibreEnvelope, LibreLockData, LibreMinimumVersionData } from "./LibreLinkUpSchemas.ts"
import type { LibreLinkUpSettings } from "./LibreLinkUpSettings.ts"

/** The calls the adapter makes, named in logs and errors instead of URLs (which carry patient ids). */
export type LibreOperation = "login" | "regions" | "connections" | "graph"

export interface LibreRequest {
  readonly operation: LibreOperation
  /** The server: the entry point, or the account's regional server. */
  readonly baseUrl: string
  readonly path: string
  readonly body?: unknown
  /** Authenticated calls: the ticket's token and `account-id` (SHA-256 hex of the follower's user id). */
  readonly auth?: { readonly token: Redacted.Redacted<string>; readonly accountId: string }
  /** The account the call acts for: a 429 about it pauses that account's calls only. */
  readonly account: string | null
  /** Reads may be retried after a 5xx, a timeout or a reset; a login never is. */
  readonly retry: boolean
}

/** What LibreLinkUp answered, for the caller to read: its body's `status` matters more than the HTTP one. */
export interface LibreAnswer {
  readonly httpStatus: number
  readonly envelope: Option.Option<LibreEnvelope>
}

const decodeEnvelope = Schema.decodeUnknownOption(Schema.fromJsonString(LibreEnvelope))
const decodeLock = Schema.decodeUnknownOption(LibreLockData)
const decodeMinimumVersion = Schema.decodeUnknownOption(LibreMinimumVersionData)

/** A body that says the account is locked after failed logins (`status` 429, `data.message` "locked"). */
export const lockOf = (envelope: LibreEnvelope) => {
  if (envelope.status !== 429) return Option.none()
  const lock = decodeLock(envelope.data)
  if (Option.isNone(lock)) return Option.none()
  const locked = lock.value.message === "locked" || typeof lock.value.data?.lockout === "number"
  return locked ? Option.some({ lockoutSeconds: lock.value.data?.lockout ?? null }) : Option.none()
}

const newerVersion = (candidate: string, current: string): boolean => {
  const parts = (version: string) => version.split(".").map(Number)
  const [a, b] = [parts(candidate), parts(current)]
  for (let index = 0; index < 3; index++) {
    if ((a[index] ?? 0) !== (b[index] ?? 0)) return (a[index] ?? 0) > (b[index] ?? 0)
  }
  return false
}

export interface LibreLinkUpClient {
  /**
   * One call with LibreLinkUp's headers (`product`, `version`, and for authenticated calls the bearer token and
   * `account-id`) and a timeout. A 429 pauses the account's calls (the whole process's when it is not
   * LibreLinkUp answering, such as Cloudflare's HTML page) for `Retry-After`, else an exponential delay, and fails
   * as `RateLimited`; a 429 that says the account is locked is answered to the caller instead. A too old `version`
   * (HTTP 403, status 920) fails as `ProviderUnavailable` and raises the version for the next call. A 5xx, a
   * timeout or a reset is retried when `retry` is set and fails as `ProviderUnavailable` once retries are spent.
   */
  readonly send: (request: LibreRequest) => Effect.Effect<LibreAnswer, RateLimited | ProviderUnavailable>
}

export const makeLibreLinkUpClient = Effect.fnUntraced(function* (provider: ProviderId, settings: LibreLinkUpSettings) {
  const http = yield* HttpClient.HttpClient
  let version = settings.version
  let processPausedUntil = 0
  let processLimitedInARow = 0
  const accounts = new Map<string, { pausedUntil: number; inARow: number }>()

  const limited = (operation: LibreOperation, retryAfter: Duration.Duration, why: string) =>
    new RateLimited({
      provider,
      retryAfter,
      message: `LibreLinkUp ${why} (${operation}); retrying in ${Duration.format(retryAfter)}`
    })

  const pausedFor = (account: string | null, now: number) => {
    const accountPause = account === null ? 0 : (accounts.get(account)?.pausedUntil ?? 0)
    return Math.max(processPausedUntil, accountPause) - now
  }

  /** Remembers a 429 and answers how long to wait: the account's alone when LibreLinkUp said it about the account. */
  const pause = Effect.fnUntraced(function* (request: LibreRequest, headers: Headers.Headers, fromLibre: boolean) {
    const now = yield* Clock.currentTimeMillis
    const backoff = { base: settings.rateLimitBackoffBase, max: settings.rateLimitBackoffMax }
    if (fromLibre && request.account !== null) {
      const state = accounts.get(request.account) ?? { pausedUntil: 0, inARow: 0 }
      state.inARow += 1
      const retryAfter = yield* delayAfter429(headers, now, state.inARow, backoff)
      state.pausedUntil = Math.max(state.pausedUntil, now + Duration.toMillis(retryAfter))
      accounts.set(request.account, state)
      return { retryAfter, scope: "account" as const }
    }
    processLimitedInARow += 1
    const retryAfter = yield* delayAfter429(headers, now, processLimitedInARow, backoff)
    processPausedUntil = Math.max(processPausedUntil, now + Duration.toMillis(retryAfter))
    return { retryAfter, scope: "process" as const }
  })

  const toRequest = (request: LibreRequest) => {
    const url = `${request.baseUrl}${request.path}`
    let built = (request.body === undefined ? HttpClientRequest.get(url) : HttpClientRequest.post(url)).pipe(
      HttpClientRequest.setHeaders({
        product: settings.product,
        version,
        accept: "application/json",
        "cache-control": "no-cache"
      })
    )
    if (request.body !== undefined) built = HttpClientRequest.bodyJsonUnsafe(built, request.body)
    if (request.auth !== undefined) {
      built = built.pipe(
        HttpClientRequest.bearerToken(request.auth.token),
        HttpClientRequest.setHeader("account-id", request.auth.accountId)
      )
    }
    return built
  }

  const attempt = Effect.fnUntraced(function* (request: LibreRequest) {
    const { operation } = request
    const before = yield* Clock.currentTimeMillis
    const waiting = pausedFor(request.account, before)
    if (waiting > 0) return yield* limited(operation, Duration.millis(waiting), "asked us to slow down")
    const answer = yield* readAnswer(http, toRequest(request), settings.requestTimeout)
    const envelope = decodeEnvelope(answer.body)
    if (answer.status === 429 || Option.exists(envelope, (body) => body.status === 429)) {
      if (Option.isSome(Option.flatMap(envelope, lockOf))) return { httpStatus: answer.status, envelope }
      const { retryAfter, scope } = yield* pause(request, answer.headers, Option.isSome(envelope))
      yield* Effect.logWarning(`LibreLinkUp rate limit reached: pausing the ${scope}'s calls`).pipe(
        Effect.annotateLogs({ operation, retryAfter: Duration.format(retryAfter) })
      )
      return yield* limited(operation, retryAfter, "answered 429 (too many requests)")
    }
    if (request.account !== null) accounts.delete(request.account)
    processLimitedInARow = 0
    if (answer.status >= 500 || answer.status === 408) {
      return yield* new TransientFailure({ reason: `HTTP ${answer.status}` })
    }
    if (Option.exists(envelope, (body) => body.status === 911)) {
      return yield* new TransientFailure({ reason: "status 911 (maintenance, or the region refuses the account)" })
    }
    const minimum = Option.flatMap(
      Option.filter(envelope, (body) => body.status === 920),
      (body) => decodeMinimumVersion(body.data)
    )
    if (answer.status === 403 && Option.isSome(minimum)) {
      const wanted = minimum.value.minimumVersion
      const sent = version
      if (/^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(wanted) && newerVersion(wanted, version)) {
        version = wanted
        yield* Effect.logWarning("LibreLinkUp refuses the app version sent: the next calls send its minimum").pipe(
          Effect.annotateLogs({ sent, minimum: wanted, fix: "set LIBRE_LINK_UP_VERSION" })
        )
      }
      return yield* new ProviderUnavailable({
        provider,
        message: `LibreLinkUp refuses app version ${sent} and asks for at least ${wanted.slice(0, 20)} (${operation}); set LIBRE_LINK_UP_VERSION (the next call sends the minimum)`
      })
    }
    if (answer.status === 430) {
      return yield* new ProviderUnavailable({
        provider,
        message: `LibreLinkUp answered HTTP 430 to app version ${version} (${operation}), as it does for versions it no longer accepts; set LIBRE_LINK_UP_VERSION`
      })
    }
    return { httpStatus: answer.status, envelope } satisfies LibreAnswer
  })

  const send = (request: LibreRequest) =>
    retryTransient(attempt(request), {
      provider,
      service: "LibreLinkUp",
      operation: request.operation,
      retries: request.retry ? settings.retries : 0,
      baseDelay: settings.retryBaseDelay
    })

  return { send } satisfies LibreLinkUpClient
})
