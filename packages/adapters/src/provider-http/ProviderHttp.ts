import { type ProviderError, type ProviderId, ProviderUnavailable } from "@bg-ingest/domain"
import { Data, Duration, Effect, Random, Result, Schedule, Schema } from "effect"
import { Headers, type HttpClient, type HttpClientError, type HttpClientRequest } from "effect/http"

/**
 * What remote provider clients share: reading an answer with a timeout, telling transient failures from the rest,
 * how long to wait after a 429, and the fields an answer may leave out.
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

/** A field of a provider's answer that it may leave out or send as null: both decode. */
export const optionalNullable = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

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
 * `attempt`, made again after each transient failure up to `retries` more times (exponential backoff from
 * `baseDelay`, with jitter), each failure logged at debug; one left over fails as `ProviderUnavailable` naming
 * `service`, the `operation` and the last reason. No retries: the call is not repeated (a login, say).
 */
export const retryTransient = <A, E extends ProviderError>(
  attempt: Effect.Effect<A, E | TransientFailure>,
  options: {
    readonly provider: ProviderId
    readonly service: string
    readonly operation: string
    readonly retries: number
    readonly baseDelay: Duration.Duration
  }
): Effect.Effect<A, E | ProviderUnavailable> => {
  const { provider, service, operation, retries } = options
  return attempt.pipe(
    Effect.tapError((error) =>
      error instanceof TransientFailure
        ? Effect.logDebug(`${service} call failed`).pipe(Effect.annotateLogs({ operation, reason: error.reason }))
        : Effect.void
    ),
    Effect.retry({
      schedule: Schedule.exponential(options.baseDelay).pipe(Schedule.jittered),
      times: retries,
      while: (error) => error instanceof TransientFailure
    }),
    Effect.mapError((error) =>
      error instanceof TransientFailure
        ? new ProviderUnavailable({
            provider,
            message:
              retries > 0
                ? `${service} ${operation} failed after ${retries + 1} attempts: ${error.reason}`
                : `${service} ${operation} failed (not repeated): ${error.reason}`
          })
        : error
    )
  )
}

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
