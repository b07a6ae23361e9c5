import { Effect, Layer } from "effect"
import { HttpServerRequest } from "effect/http"
import { RequestIdLogs } from "../api/RequestIdLogs.ts"

/** Reads the id the server's edge put on the request (the runner's `observeRequests`). */
export const RequestIdLogsLive = Layer.succeed(RequestIdLogs, (httpEffect) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const requestId = request.headers["x-request-id"]
    return requestId === undefined ? httpEffect : Effect.annotateLogs(httpEffect, { request_id: requestId })
  })
)
