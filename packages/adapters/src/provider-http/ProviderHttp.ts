import { Data, Duration, Effect, Random, Result } from "effect"
import { Headers, type HttpClient, type HttpClientError, type HttpClientRequest } from "effect/http"

/**
 * What remote provider clients share: reading an answer with a timeout, telling transient failures from the rest,
 * and how long to wait after a 429.
 */

/** A failure worth another attempt: a timeout, a reset, a 5xx. Internal to a provider client. */
export class TransientFailure extends Data.TaggedError("TransientFailure")<{ readonly reason: string }> {}

/** The network-level reason of a failed request (`ECONNRESET`, ...), without its URL or anything it carried. */
export const transportReason = (error: HttpClientError.HttpClientError): string => {
  let cause: unknown = error.reason.cause
  for (let depth = 0; depth < 5 && cause !== null && typeof cause === "object"; depth++) {
    const code = (cause as { code?: unknown }).code
    if (typeof code === "string") return `${error.reason._tag} (${code})`
    cause = (cause as { cause?: unknown }).cause
  }
  return error.reason._tag
}

export const isTransientStatus = (status: number): boolean => status >= 500 || status === 408

export interface ProviderAnswer {
  readonly status: number
  readonly headers: Headers.Headers
  readonly body: string
}

/** Sends a request and reads the whole answer within `timeout`; a timeout or a transport failure is transient. */
export const readAnswer = (
  http: HttpClient.HttpClient,
  request: HttpClientRequest.HttpClientRequest,
  timeout: Duration.Duration
): Effect.Effect<ProviderAnswer, TransientFailure> =>
  http.execute(request).pipe(
    Effect.flatMap((response) =>
      Effect.map(response.text, (body) => ({ status: response.status, headers: response.headers, body }))
    ),
    Effect.timeoutOrElse({
      duration: timeout,
      orElse: () => Effect.fail(new TransientFailure({ reason: `no answer within ${Duration.format(timeout)}` }))
    }),
    Effect.catchTag("HttpClientError", (error) => Effect.fail(new TransientFailure({ reason: transportReason(error) })))
  )

/**
 * How long to wait after the `inARow`-th 429 in a row: `Retry-After` (seconds or an HTTP date, at least a second)
 * when the answer has one, else exponential from `base` up to `max`, with jitter.
 */
export const delayAfter429 = Effect.fnUntraced(function* (
  headers: Headers.Headers,
  nowMillis: number,
  inARow: number,
  backoff: { readonly base: Duration.Duration; readonly max: Duration.Duration }
) {
  const header = headers["retry-after"]
  if (header !== undefined) {
    const parsed = Headers.parseRetryAfter(header)
    if (Result.isSuccess(parsed)) {
      return Duration.max(Headers.retryAfterDelay(parsed.success, nowMillis), Duration.seconds(1))
    }
  }
  const exponential = Math.min(
    Duration.toMillis(backoff.max),
    Duration.toMillis(backoff.base) * 2 ** Math.min(inARow - 1, 20)
  )
  return Duration.millis(Math.round(exponential * (0.5 + (yield* Random.next) / 2)))
})
