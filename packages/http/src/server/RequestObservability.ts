import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { type Context, Effect } from "effect"
import { SecureRandom } from "effect/crypto"

const BOUNDARIES = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const HISTOGRAM = "bg_ingest_http_request_duration_seconds"

interface Series {
  readonly labels: string
  readonly buckets: Float64Array
  sum: number
  count: number
}

/**
 * The request-duration histogram, by method, route pattern and status, kept in plain arrays: it is updated on
 * every request, where an Effect metric update (attribute hashing, registry lookup) cost 3 µs of a 45 µs `latest`
 * (bench/http.ts). `/metrics` appends its Prometheus text to the Effect metrics'.
 */
export class RequestDurations {
  private readonly series = new Map<string, Series>()

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`
    let series = this.series.get(key)
    if (series === undefined) {
      const labels = `method="${method}",route="${route.replaceAll('"', '\\"')}",status="${status}"`
      series = { labels, buckets: new Float64Array(BOUNDARIES.length), sum: 0, count: 0 }
      this.series.set(key, series)
    }
    for (let index = 0; index < BOUNDARIES.length; index++)
      if (seconds <= BOUNDARIES[index]!) series.buckets[index]! += 1
    series.sum += seconds
    series.count += 1
  }

  /** Prometheus text exposition of the histogram. */
  render(): string {
    const lines = [
      `# HELP ${HISTOGRAM} HTTP request durations by method, route and status`,
      `# TYPE ${HISTOGRAM} histogram`
    ]
    for (const { labels, buckets, sum, count } of this.series.values()) {
      for (const [index, boundary] of BOUNDARIES.entries()) {
        lines.push(`${HISTOGRAM}_bucket{${labels},le="${boundary}"} ${buckets[index]}`)
      }
      lines.push(`${HISTOGRAM}_bucket{${labels},le="+Inf"} ${count}`)
      lines.push(`${HISTOGRAM}_sum{${labels}} ${sum}`)
      lines.push(`${HISTOGRAM}_count{${labels}} ${count}`)
    }
    return `${lines.join("\n")}\n`
  }
}

/** The process's request durations: written by `observeRequests`, read by `/metrics`. */
export const requestDurations = new RequestDurations()

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
}

/**
 * Observes every request at the edge of the Node server, before the Effect router, where it costs next to nothing
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
    const requestId = typeof given === "string" && REQUEST_ID.test(given) ? given : SecureRandom.uuidV4Unsafe()
    request.headers["x-request-id"] = requestId
    response.setHeader("x-request-id", requestId)
    const method = request.method ?? "GET"
    response.once("finish", () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      const status = response.statusCode
      const route = options.routeOf(method, path)
      requestDurations.observe(method, route, status, seconds)
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
