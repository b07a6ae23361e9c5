import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import {
  applyDefaultHeaders,
  type DurationHistogram,
  HotReads,
  limitResources,
  RequestDurations,
  routeOf,
  SERVER_OPTIONS,
  serveHotReads
} from "@bg-ingest/http/server"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { type Context, type Duration, Effect, Layer, LogLevel, References } from "effect"

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

// The router reads `;` as the start of a query (`/foo;jsessionid=…`), so `/api/bg/a;b` would be served as user
// `a`; and it cannot route an encoded slash. Escaped, they stay inside their path segment, where the parameter's
// schema refuses them with the usual 400 naming the parameter.
const AMBIGUOUS = /;|%2f|%00/i
const escapeAmbiguous = (path: string) => path.replaceAll(";", "%3B").replace(/%2f/gi, "%252F").replace(/%00/g, "%2500")

export interface RequestObservabilityOptions {
  /** The context the log lines and metrics are written with (its loggers, its metric registry). */
  readonly context: Context.Context<never>
  /** Log successful reads too (at Debug): only when the minimum log level lets Debug lines through. */
  readonly logReads: boolean
  /** The route pattern a request's path fits, for labels and logs (never the path, with its ids). */
  readonly routeOf: (method: string, path: string) => string
  /** Where durations go: the histogram `/metrics` renders (`RequestDurations`). */
  readonly durations: DurationHistogram
}

/**
 * Observes every request at the edge of the Node server (`node:http`, so the runner's and not the HTTP package's),
 * before the Effect router, where it costs next to nothing
 * (a router middleware costs a fifth of a `latest`, bench/http.ts): the duration histogram by method, route and
 * status; a request id, from `X-Request-Id` when it is sane or else generated, set on the request for the handlers
 * (`RequestIdLogs`) and echoed in the response; and one structured log line — request id, method, route pattern,
 * status, duration; never the path, the query, a header or the body. Successful reads are logged at Debug,
 * everything else at Info: reads are by far the most frequent requests.
 */
export const observeRequests = (server: Server, options: RequestObservabilityOptions): void => {
  server.prependListener("request", (request: IncomingMessage, response: ServerResponse) => {
    const started = process.hrtime.bigint()
    const url = request.url ?? "/"
    const queryAt = url.indexOf("?")
    const path = queryAt === -1 ? url : url.slice(0, queryAt)
    if (AMBIGUOUS.test(path)) request.url = escapeAmbiguous(path) + (queryAt === -1 ? "" : url.slice(queryAt))
    const given = request.headers["x-request-id"]
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID() // node:crypto, from a cached pool of random bytes
    request.headers["x-request-id"] = requestId
    response.setHeader("x-request-id", requestId)
    const method = request.method ?? "GET"
    response.once("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const status = response.statusCode
      const route = options.routeOf(method, path)
      options.durations.observe(method, route, status, seconds)
      const read = (method === "GET" || method === "HEAD") && status < 400
      if (read && !options.logReads) return
      Effect.runForkWith(options.context)(
        (read ? Effect.logDebug : Effect.logInfo)("HTTP request").pipe(
          Effect.annotateLogs({
            request_id: requestId,
            method,
            route,
            status,
            duration_ms: Math.round(seconds * 1e6) / 1e3
          })
        )
      )
    })
  })
}

/**
 * The Node HTTP server, with every request observed at its edge (`observeRequests`: request ids, the duration
 * histogram, the request log), writing with the context the service runs in (its loggers and metrics), and its
 * resources bounded there (`limitResources`, `SERVER_OPTIONS`). With a `HotReads` in the context, the hot reads
 * are answered at the edge too (`serveHotReads`), the rest by the router.
 */
export const observedHttpServer = (options: {
  readonly port: number
  readonly host: string
  readonly gracefulShutdownTimeout?: Duration.Duration
}) =>
  Layer.unwrap(
    Effect.gen(function* () {
      const context = yield* Effect.context<never>()
      const durations = yield* RequestDurations
      const logReads = LogLevel.isLessThanOrEqualTo(yield* References.MinimumLogLevel, "Debug")
      const hotReads = yield* Effect.serviceOption(HotReads)
      return NodeHttpServer.layer(() => {
        const server = createServer(SERVER_OPTIONS)
        observeRequests(server, { context, logReads, routeOf, durations })
        // Answers carry no-store and nosniff; bodies, connections and slow clients are bounded at the edge.
        applyDefaultHeaders(server)
        // The hot reads (latest, range) answered here when plainly valid, after the listeners above.
        if (hotReads._tag === "Some") serveHotReads(server, hotReads.value)
        limitResources(server, { onRefused: (method, status) => durations.observe(method, "/*", status, 0) })
        return server
      }, options)
    })
  )
