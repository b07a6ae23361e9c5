import type { IncomingMessage, Server, ServerOptions, ServerResponse } from "node:http"
import { ByteSize, Layer } from "effect"
import { HttpIncomingMessage } from "effect/http"
import { WEBHOOK_MAX_BYTES } from "../api/WebhookApi.ts"
import { NIGHTSCOUT_MAX_BODY_BYTES } from "./nightscout/NightscoutUploads.ts"
import { DEFAULT_RESPONSE_HEADERS } from "./SecurityHeaders.ts"

/**
 * What one client may hold of the server. An API answers in milliseconds: a client slower than these is either
 * broken or holding resources on purpose.
 */
export const SERVER_LIMITS = {
  /** Open connections at once; more are refused by the operating system's backlog, not buffered. */
  maxConnections: 1024,
  /** To send all the headers of a request. */
  headersTimeoutMs: 10_000,
  /** To send a whole request, body included (a 1 MiB webhook delivery needs well under a second on any link). */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  maxHeadersCount: 100,
  /** Body of every route but the webhook's and Nightscout uploads: credentials and small JSON documents. */
  maxBodyBytes: 16 * 1024,
  /** Webhook bodies being read at once, all deliveries together; a delivery beyond it is answered 503. */
  maxWebhookBytesInFlight: 32 * 1024 * 1024
} as const

/** Options for `createServer`: the time limits, checked every second (Node's default checks every 30 s). */
export const SERVER_OPTIONS: ServerOptions = {
  headersTimeout: SERVER_LIMITS.headersTimeoutMs,
  requestTimeout: SERVER_LIMITS.requestTimeoutMs,
  keepAliveTimeout: SERVER_LIMITS.keepAliveTimeoutMs,
  connectionsCheckingInterval: 1_000
}

const WEBHOOK_PATH = /^\/api\/bg\/[^/]+\/webhook$/
/** Nightscout uploads, on a user's site or at the root (their own handlers bound them after decompression). */
const NIGHTSCOUT_PATH = /^\/(?:ns\/[^/]+\/)?api\/v1\//

/**
 * The largest body a request may declare, by route: 1 MiB for the webhook, Nightscout's upload limit on its
 * sites' writes, 16 KiB anywhere else.
 */
export const bodyLimitOf = (method: string | undefined, url: string | undefined): number => {
  if ((method !== "POST" && method !== "PUT") || url === undefined) return SERVER_LIMITS.maxBodyBytes
  const queryAt = url.indexOf("?")
  const path = queryAt === -1 ? url : url.slice(0, queryAt)
  if (method === "POST" && WEBHOOK_PATH.test(path)) return WEBHOOK_MAX_BYTES
  if (NIGHTSCOUT_PATH.test(path)) return NIGHTSCOUT_MAX_BODY_BYTES
  return SERVER_LIMITS.maxBodyBytes
}

const TOO_LARGE = (limit: number) =>
  JSON.stringify({
    type: "about:blank",
    title: "Payload Too Large",
    status: 413,
    detail: `The body may carry at most ${limit} bytes on this route`
  })

/**
 * Bounds what clients can make the server hold (with `SERVER_OPTIONS`, its time limits): connections, header
 * count, and the body a request declares, refused with a 413 problem before any route, key or signature check runs
 * (and the connection closed, so the body is not read). A body without a declared length is bounded while it is
 * read: `BodyLimit` for the API's JSON bodies, the webhook's own reader for deliveries.
 */
export const limitResources = (
  server: Server,
  options: {
    /** Told of each request refused at the edge, which no "request" listener sees (metrics, say). */
    readonly onRefused?: (method: string, status: number) => void
  } = {}
): void => {
  server.maxConnections = SERVER_LIMITS.maxConnections
  server.maxHeadersCount = SERVER_LIMITS.maxHeadersCount
  const emit = server.emit
  // Ahead of every "request" listener (the router's included), so that an oversize body never reaches a route.
  server.emit = function (this: Server, event: string | symbol, ...args: Array<unknown>): boolean {
    if (event === "request") {
      const request = args[0] as IncomingMessage
      const declared = request.headers["content-length"]
      if (declared !== undefined) {
        const limit = bodyLimitOf(request.method, request.url)
        if (Number(declared) > limit) {
          const response = args[1] as ServerResponse
          response.shouldKeepAlive = false
          const problem = TOO_LARGE(limit)
          response.writeHead(413, {
            ...DEFAULT_RESPONSE_HEADERS,
            "content-type": "application/problem+json",
            "content-length": Buffer.byteLength(problem),
            connection: "close"
          })
          response.end(problem)
          options.onRefused?.(request.method ?? "POST", 413)
          return true
        }
      }
    }
    return (emit as (event: string | symbol, ...args: Array<unknown>) => boolean).call(this, event, ...args)
  } as Server["emit"]
}

/** The most bytes a route's handler reads of a body sent without a declared length (chunked). */
export const BodyLimit = Layer.succeed(HttpIncomingMessage.MaxBodySize, ByteSize.bytes(SERVER_LIMITS.maxBodyBytes))
