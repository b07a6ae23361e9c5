import { Effect, Layer } from "effect"
import { HttpServerRequest } from "effect/http"
import { RequestIdLogs } from "../api/RequestIdLogs.ts"

/** Reads the id `observeRequests` put on the request. */
export const RequestIdLogsLive = Layer.succeed(RequestIdLogs, (httpEffect) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const requestId = request.headers["x-request-id"]
    return requestId === undefined ? httpEffect : Effect.annotateLogs(httpEffect, { request_id: requestId })
  })
)
