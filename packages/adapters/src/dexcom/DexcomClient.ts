import { type ProviderId, ProviderUnavailable, RateLimited } from "@bg-ingest/domain"
import { Clock, Data, Duration, Effect, Random, Result, Schedule } from "effect"
import { Headers, HttpClient, type HttpClientError, HttpClientRequest } from "effect/http"
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

class TransientFailure extends Data.TaggedError("TransientFailure")<{ readonly reason: string }> {}

/** The network-level reason of a failed request (`ECONNRESET`, ...), without its URL or anything it carried. */
const transportReason = (error: HttpClientError.HttpClientError): string => {
  let cause: unknown = error.reason.cause
  for (let depth = 0; depth < 5 && cause !== null && typeof cause === "object"; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string") return `${error.reason._tag} (${code})`
    cause = (cause as { cause?: unknown }).cause
  }
  return error.reason._tag
}

const isTransientStatus = (status: number) => status >= 500 || status === 408

export interface DexcomClient {
  /**
   * Sends one request through the shared call budget with a timeout, retrying 5xx answers, timeouts and
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
  budget: CallBudget
) {
  const http = (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest(HttpClientRequest.prependUrl(settings.baseUrl))
  )
  let rateLimitedInARow = 0

  const retryDelayAfter429 = Effect.fnUntraced(function* (headers: Headers.Headers) {
    rateLimitedInARow += 1
    const now = yield* Clock.currentTimeMillis
    const header = headers["retry-after"]
    if (header !== undefined) {
      const parsed = Headers.parseRetryAfter(header)
      if (Result.isSuccess(parsed)) {
        return Duration.max(Headers.retryAfterDelay(parsed.success, now), Duration.seconds(1))
      }
    }
    const exponential = Math.min(
      Duration.toMillis(settings.rateLimitBackoffMax),
      Duration.toMillis(settings.rateLimitBackoffBase) * 2 ** Math.min(rateLimitedInARow - 1, 20)
    )
    return Duration.millis(Math.round(exponential * (0.5 + (yield* Random.next) / 2)))
  })

  const attempt = Effect.fnUntraced(function* (
    operation: DexcomOperation,
    request: HttpClientRequest.HttpClientRequest
  ) {
    yield* budget.take
    const answer = yield* http.execute(request).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.text, (body) => ({ status: response.status, headers: response.headers, body }))
      ),
      Effect.timeoutOrElse({
        duration: settings.requestTimeout,
        orElse: () =>
          Effect.fail(new TransientFailure({ reason: `no answer within ${Duration.format(settings.requestTimeout)}` }))
      }),
      Effect.catchTag("HttpClientError", (error) =>
        Effect.fail(new TransientFailure({ reason: transportReason(error) }))
      )
    )
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
    attempt(operation, request).pipe(
      Effect.tapError((error) =>
        error._tag === "TransientFailure"
          ? Effect.logDebug("Dexcom call failed, may retry").pipe(
              Effect.annotateLogs({ operation, reason: error.reason })
            )
          : Effect.void
      ),
      Effect.retry({
        schedule: Schedule.exponential(settings.retryBaseDelay).pipe(Schedule.jittered),
        times: settings.retries,
        while: (error) => error._tag === "TransientFailure"
      }),
      Effect.catchTag("TransientFailure", (error) =>
        Effect.fail(
          new ProviderUnavailable({
            provider,
            message: `Dexcom ${operation} failed after ${settings.retries + 1} attempts: ${error.reason}`
          })
        )
      )
    )

  return { send } satisfies DexcomClient
})
