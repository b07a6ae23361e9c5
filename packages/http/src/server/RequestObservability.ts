import { randomUUID } from "node:crypto"
import { Cause, Clock, Effect, Exit, Metric } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse } from "effect/http"

export const httpRequestDuration = Metric.histogram("bg_ingest_http_request_duration_seconds", {
  description: "HTTP request durations by method, route and status",
  boundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
})

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

/**
 * One structured log line per request — request id, method, route pattern (never the path with its ids, the
 * query or the body), status and duration — and the duration histogram by route and status. The request id comes
 * from `X-Request-Id` when it is sane, else is generated, is echoed in the response, and annotates every log line
 * written while handling the request.
 */
export const RequestObservability = HttpRouter.middleware((httpEffect) =>
  Effect.gen(function* () {
    const request = yield* HttpServerRequest.HttpServerRequest
    const { route } = yield* HttpRouter.RouteContext
    const given = request.headers["x-request-id"]
    const requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID()
    const started = yield* Clock.currentTimeNanos
    const observe = (exit: Exit.Exit<HttpServerResponse.HttpServerResponse, unknown>) =>
      Effect.gen(function* () {
        const status = Exit.isSuccess(exit)
          ? exit.value.status
          : (yield* HttpServerError.causeResponse(exit.cause))[0].status
        if (Exit.isFailure(exit) && status >= 500 && !Cause.hasInterruptsOnly(exit.cause)) {
          yield* Effect.logError("Request failed", Cause.pretty(exit.cause))
        }
        const seconds = Number((yield* Clock.currentTimeNanos) - started) / 1e9
        yield* Metric.update(
          Metric.withAttributes(httpRequestDuration, {
            method: request.method,
            route: route.path,
            status: String(status)
          }),
          seconds
        )
        yield* Effect.logInfo("HTTP request").pipe(
          Effect.annotateLogs({
            method: request.method,
            route: route.path,
            status,
            duration_ms: Math.round(seconds * 1e6) / 1e3
          })
        )
      }).pipe(Effect.annotateLogs({ request_id: requestId }))
    return yield* httpEffect.pipe(
      Effect.annotateLogs({ request_id: requestId }),
      Effect.onExit(observe),
      Effect.map((response) => HttpServerResponse.setHeader(response, "x-request-id", requestId))
    )
  })
).layer
