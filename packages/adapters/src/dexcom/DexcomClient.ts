import {
  budgetSlotAt,
  type CallBudgetShape,
  type ProviderId,
  ProviderUnavailable,
  RateLimited
} from "@bg-ingest/domain"
import { Clock, DateTime, Duration, Effect } from "effect"
import { type Headers, HttpClient, HttpClientRequest } from "effect/http"
import {
  delayAfter429,
  isTransientStatus,
  readAnswer,
  retryTransient,
  TransientFailure
} from "../provider-http/ProviderHttp.ts"
import type { CallBudget } from "./CallBudget.ts"
import type { DexcomSettings } from "./DexcomSettings.ts"

/** The calls the adapter makes, named in logs and errors instead of URLs (which may carry codes or dates). */
export type DexcomOperation = "token" | "dataRange" | "egvs"

/** A response that is neither a 5xx nor a 429, with its body read. */
export interface DexcomAnswer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: string
}

export interface DexcomClient {
  /**
   * Sends one request through this process's call budget (smoothing bursts, paused after a 429) and the budget all
   * replicas share in the store (refused: `RateLimited` with `budgetSpent`, nothing sent), with a timeout, retrying 5xx answers, timeouts and
   * connection failures with exponential backoff and jitter, then failing as `ProviderUnavailable`. A 429
   * pauses every Dexcom call of this process for `Retry-After` (seconds or an HTTP date; an exponential
   * default when absent) and fails as `RateLimited`.
   */
  readonly send: (
    operation: DexcomOperation,
    request: HttpClientRequest.HttpClientRequest
  ) => Effect.Effect<DexcomAnswer, RateLimited | ProviderUnavailable>
}

export const makeDexcomClient = Effect.fnUntraced(function* (
  provider: ProviderId,
  settings: DexcomSettings,
  budget: CallBudget,
  shared: CallBudgetShape
) {
  const http = (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest(HttpClientRequest.prependUrl(settings.baseUrl))
  )
  let rateLimitedInARow = 0

  const retryDelayAfter429 = Effect.fnUntraced(function* (headers: Headers.Headers) {
    rateLimitedInARow += 1
    return yield* delayAfter429(headers, yield* Clock.currentTimeMillis, rateLimitedInARow, {
      base: settings.rateLimitBackoffBase,
      max: settings.rateLimitBackoffMax
    })
  })

  const limit = { calls: settings.maxCallsPerHour, per: Duration.hours(1) }
  /** The application's budget, one for every replica: the budget of every Dexcom application is its own. */
  const budgetKey = `${provider}/${settings.clientId}`

  /** Counts the call in the budget all replicas share; refused, the call is not made and its sync is deferred. */
  const takeShared = Effect.fnUntraced(function* (operation: DexcomOperation) {
    const now = DateTime.makeUnsafe(yield* Clock.currentTimeMillis)
    const slot = budgetSlotAt(limit, now)
    const granted = yield* shared.take({ key: budgetKey, window: slot.window, limit: slot.limit, calls: 1 }).pipe(
      Effect.mapError(
        (error) =>
          new ProviderUnavailable({
            provider,
            message: `The shared Dexcom call budget cannot be read, so ${operation} was not sent: ${error.message}`,
            cause: error
          })
      )
    )
    if (!granted) {
      return yield* new RateLimited({
        provider,
        retryAfter: Duration.millis(DateTime.toEpochMillis(slot.window.to) - DateTime.toEpochMillis(now)),
        message: `The Dexcom call budget (${settings.maxCallsPerHour} an hour, all replicas together) is spent for now`,
        budgetSpent: true
      })
    }
  })

  const attempt = Effect.fnUntraced(function* (
    operation: DexcomOperation,
    request: HttpClientRequest.HttpClientRequest
  ) {
    yield* budget.take
    yield* takeShared(operation)
    const answer = yield* readAnswer(http, request, settings.requestTimeout)
    if (isTransientStatus(answer.status)) {
      return yield* new TransientFailure({ reason: `HTTP ${answer.status}` })
    }
    if (answer.status === 429) {
      const retryAfter = yield* retryDelayAfter429(answer.headers)
      yield* budget.pauseUntil((yield* Clock.currentTimeMillis) + Duration.toMillis(retryAfter))
      yield* Effect.logWarning("Dexcom rate limit reached: pausing every Dexcom call").pipe(
        Effect.annotateLogs({ operation, retryAfter: Duration.format(retryAfter) })
      )
      return yield* new RateLimited({
        provider,
        retryAfter,
        message: `Dexcom answered 429 (too many requests) to ${operation}; retrying in ${Duration.format(retryAfter)}`
      })
    }
    rateLimitedInARow = 0
    return answer
  })

  const send = (operation: DexcomOperation, request: HttpClientRequest.HttpClientRequest) =>
    retryTransient(attempt(operation, request), {
      provider,
      service: "Dexcom",
      operation,
      retries: settings.retries,
      baseDelay: settings.retryBaseDelay
    })

  return { send } satisfies DexcomClient
})
