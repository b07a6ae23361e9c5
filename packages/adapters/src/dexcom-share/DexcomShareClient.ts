import { type ProviderId, ProviderUnavailable, RateLimited } from "@bg-ingest/domain"
import { Clock, Duration, Effect, Option, Schema } from "effect"
import { type Headers, HttpClient, HttpClientRequest } from "effect/http"
import { delayAfter429, readAnswer, retryTransient, TransientFailure } from "../provider-http/ProviderHttp.ts"
import { ShareErrorBody } from "./DexcomShareSchemas.ts"
import type { DexcomShareSettings } from "./DexcomShareSettings.ts"

/** The calls the adapter makes, named in logs and errors instead of URLs (which carry the session id). */
export type ShareOperation = "authenticate" | "login" | "glucose"

const PATHS: Record<ShareOperation, string> = {
  authenticate: "/ShareWebServices/Services/General/AuthenticatePublisherAccount",
  login: "/ShareWebServices/Services/General/LoginPublisherAccountById",
  glucose: "/ShareWebServices/Services/Publisher/ReadPublisherLatestGlucoseValues"
}

/** What Share answered: a 200 with its body, or an error it named (`{ Code, Message }`, usually with HTTP 500). */
export type ShareAnswer =
  | { readonly _tag: "Ok"; readonly body: string }
  | { readonly _tag: "Refused"; readonly status: number; readonly code: string; readonly message: string }

/** Share's error codes are echoed only in their documented shape, never as free text. */
export const safeShareCode = (code: string): string => (/^[A-Za-z_]{1,64}$/.test(code) ? code : "unrecognized")

const decodeErrorBody = Schema.decodeUnknownOption(Schema.fromJsonString(ShareErrorBody))

/** Codes that mean Share itself failed, like a 5xx: a read may be retried after them. */
const TRANSIENT_CODES = new Set(["SSO_InternalError"])

export interface DexcomShareClient {
  /**
   * POSTs to one of Share's services with a timeout. A 429 pauses every Share call of this process for
   * `Retry-After` (an exponential default when absent) and fails as `RateLimited`. A 5xx without a code,
   * `SSO_InternalError`, a timeout or a reset is retried with backoff when `retry` is set (glucose reads) and
   * fails as `ProviderUnavailable` once retries are spent, or at once when `retry` is not set (logins: a login
   * is never repeated by the client, so that a failing one can never lock the account).
   */
  readonly send: (
    operation: ShareOperation,
    options: {
      readonly urlParams?: HttpClientRequest.Options.NoUrl["urlParams"]
      readonly body?: unknown
      readonly retry: boolean
    }
  ) => Effect.Effect<ShareAnswer, RateLimited | ProviderUnavailable>
}

export const makeDexcomShareClient = Effect.fnUntraced(function* (provider: ProviderId, settings: DexcomShareSettings) {
  const http = (yield* HttpClient.HttpClient).pipe(
    HttpClient.mapRequest(HttpClientRequest.prependUrl(settings.baseUrl))
  )
  let pausedUntil = 0
  let rateLimitedInARow = 0

  const retryDelayAfter429 = (headers: Headers.Headers, now: number) => {
    rateLimitedInARow += 1
    return delayAfter429(headers, now, rateLimitedInARow, {
      base: settings.rateLimitBackoffBase,
      max: settings.rateLimitBackoffMax
    })
  }

  const limited = (operation: ShareOperation, retryAfter: Duration.Duration, why: string) =>
    new RateLimited({
      provider,
      retryAfter,
      message: `Dexcom Share ${why} (${operation}); retrying in ${Duration.format(retryAfter)}`
    })

  const attempt = Effect.fnUntraced(function* (
    operation: ShareOperation,
    request: HttpClientRequest.HttpClientRequest,
    retry: boolean
  ) {
    const before = yield* Clock.currentTimeMillis
    if (before < pausedUntil) {
      return yield* limited(operation, Duration.millis(pausedUntil - before), "asked every client to slow down")
    }
    const answer = yield* readAnswer(http, request, settings.requestTimeout)
    if (answer.status === 429) {
      const now = yield* Clock.currentTimeMillis
      const retryAfter = yield* retryDelayAfter429(answer.headers, now)
      pausedUntil = Math.max(pausedUntil, now + Duration.toMillis(retryAfter))
      yield* Effect.logWarning("Dexcom Share rate limit reached: pausing every Share call").pipe(
        Effect.annotateLogs({ operation, retryAfter: Duration.format(retryAfter) })
      )
      return yield* limited(operation, retryAfter, "answered 429 (too many requests)")
    }
    rateLimitedInARow = 0
    if (answer.status === 200) return { _tag: "Ok", body: answer.body } satisfies ShareAnswer
    const named = decodeErrorBody(answer.body)
    if (Option.isNone(named)) {
      if (answer.status >= 500 || answer.status === 408) {
        return yield* new TransientFailure({ reason: `HTTP ${answer.status}` })
      }
      // Not Share speaking (a wrong DEXCOM_SHARE_BASE_URL, a proxy): nothing a retry or a new login would fix.
      return yield* new ProviderUnavailable({
        provider,
        message: `Dexcom Share answered HTTP ${answer.status} without an error code to ${operation}`
      })
    }
    const code = safeShareCode(named.value.Code)
    if (retry && TRANSIENT_CODES.has(code))
      return yield* new TransientFailure({ reason: `HTTP ${answer.status} ${code}` })
    return {
      _tag: "Refused",
      status: answer.status,
      code,
      message: named.value.Message ?? ""
    } satisfies ShareAnswer
  })

  const send = (
    operation: ShareOperation,
    options: {
      readonly urlParams?: HttpClientRequest.Options.NoUrl["urlParams"]
      readonly body?: unknown
      readonly retry: boolean
    }
  ) => {
    const base = HttpClientRequest.post(PATHS[operation], {
      acceptJson: true,
      ...(options.urlParams === undefined ? {} : { urlParams: options.urlParams })
    })
    const request = options.body === undefined ? base : HttpClientRequest.bodyJsonUnsafe(base, options.body)
    return retryTransient(attempt(operation, request, options.retry), {
      provider,
      service: "Dexcom Share",
      operation,
      retries: options.retry ? settings.retries : 0,
      baseDelay: settings.retryBaseDelay
    })
  }

  return { send } satisfies DexcomShareClient
})
