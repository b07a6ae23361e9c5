import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { makeWindow, type Reading, ReadingStore } from "@bg-ingest/domain"
import { Context, DateTime, Effect, Exit, Layer, Option, Schema } from "effect"
import { HttpApi } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { MAX_RANGE_LIMIT, RangeQuery, ReadingsApi } from "../api/ReadingsApi.ts"
import { KnownKeys } from "./ApiKeyAuthLive.ts"
import { toReadingJson } from "./JsonMapping.ts"
import { rangeWindow } from "./ReadingsHandlers.ts"

/**
 * The two hot reads (`GET /api/bg/:userId/latest` and `GET /api/bg/:userId`), answered at the Node server's edge
 * when the request is plainly valid, without the router, the middleware chain and a fiber per request: they are
 * most of the service's traffic, and that machinery was half the CPU of a `latest` (bench/http.ts).
 *
 * The HttpApi contract stays the one definition: the path parameter and the query are decoded with the endpoints'
 * own schemas (taken from `ReadingsApi`, decoded as the HttpApi builder decodes them), the window is the
 * handler's own `rangeWindow`, the rows its own `toReadingJson`, and the answer the same status, headers and
 * bytes. Everything else — a parameter or query that does not decode, an API key that is missing or unknown, an
 * empty `latest`, a store that fails, HEAD, any percent-encoding or repeated key — is handed to the router,
 * which answers it (problems, counters, logs) exactly as before. test/http/HotReads.test.ts compares both paths.
 */
export class HotReads extends Context.Service<
  HotReads,
  {
    /**
     * Whether `request` is one the hot path answers. Pure and synchronous, so that the caller can decide before
     * anything is written; when it returns an answer, `serve` must be called with it.
     */
    readonly plan: (request: IncomingMessage) => HotRead | undefined
    /**
     * Answers a planned read. Calls `fallback` (the router) instead when the store fails or `latest` finds
     * nothing, so that those answers stay the contract's own.
     */
    readonly serve: (read: HotRead, response: ServerResponse, fallback: () => void) => void
  }
>()("@bg-ingest/http/server/HotReads") {
  /** Needs the `ReadingStore` and the `ApiKeys` (and the `Digest` they are checked with). */
  static readonly layer = Layer.effect(
    HotReads,
    Effect.gen(function* () {
      const store = yield* ReadingStore
      const keys = yield* KnownKeys
      const context = yield* Effect.context<never>()
      const run = Effect.runCallbackWith(context)
      return HotReads.of(makeHotReads(store, keys, run))
    })
  ).pipe(Layer.provide(KnownKeys.layer))
}

export type HotRead =
  | { readonly _tag: "latest"; readonly userId: Reading["userId"] }
  | {
      readonly _tag: "range"
      readonly userId: Reading["userId"]
      readonly query: RangeQueryType
    }

const LATEST_PATH = ReadingsApi.endpoints.latest.path
const RANGE_PATH = ReadingsApi.endpoints.range.path
interface RangeQueryType {
  readonly from?: DateTime.Utc | undefined
  readonly to?: DateTime.Utc | undefined
  readonly limit?: number | undefined
}

/** An endpoint's own schema for a request slot, as the contract built it (string codecs included). */
const slotSchema = <A>(schema: Schema.Top | undefined, slot: string): Schema.Codec<A, unknown> => {
  if (schema === undefined) throw new Error(`HotReads: the contract declares no ${slot}`)
  return schema as unknown as Schema.Codec<A, unknown>
}

// As HttpApiBuilder decodes them: the route's parameters as they are, the query from its record of strings.
const decodeParams = Schema.decodeUnknownExit(
  slotSchema<{ readonly userId: Reading["userId"] }>(ReadingsApi.endpoints.latest.params, "path parameters")
)
const RangeQuerySchema = slotSchema<RangeQueryType>(ReadingsApi.endpoints.range.query, "query")
const decodeQuery = Schema.decodeUnknownExit(Schema.toCodecArrayFromSingle(RangeQuerySchema))
const QUERY_KEYS = new Set(Object.keys(RangeQuery))

/** A path segment the router passes on as it is: nothing to decode, nothing it reads as a separator. */
const PLAIN_SEGMENT = /^[A-Za-z0-9._:@-]+$/
/** `Bearer <key>` as the contract's security decodes it, in its one plain form. */
const PLAIN_BEARER = /^Bearer ([\x21-\x7e]+)$/
/** A query of plain `key=value` pairs, without `+` or percent-escapes, so that nothing decodes differently. */
const PLAIN_QUERY = /^[A-Za-z0-9._:=&-]*$/

/**
 * Values of the user-id segment that a static route of the API would take instead (none today): checked from the
 * contract, so that a route added later is never shadowed by the hot path.
 */
const shadowedUserIds = (() => {
  const shadowed = new Set<string>()
  const hot = [LATEST_PATH, RANGE_PATH].map((path) => path.split("/"))
  HttpApi.reflect(BgIngestApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => {
      if (endpoint.method !== "GET" || endpoint.path === LATEST_PATH || endpoint.path === RANGE_PATH) return
      const segments = endpoint.path.split("/")
      for (const pattern of hot) {
        if (segments.length !== pattern.length) continue
        const other = segments.every(
          (segment, index) => index === 3 || segment.startsWith(":") || segment === pattern[index]
        )
        if (other && !segments[3]!.startsWith(":")) shadowed.add(segments[3]!)
      }
    }
  })
  return shadowed
})()

const makeHotReads = (
  store: ReadingStore["Service"],
  keys: KnownKeys["Service"],
  run: ReturnType<typeof Effect.runCallbackWith<never>>
): HotReads["Service"] => {
  const authorized = (request: IncomingMessage): boolean => {
    if (!keys.required) return true
    const authorization = request.headers.authorization
    if (authorization === undefined) return false
    const key = PLAIN_BEARER.exec(authorization)?.[1]
    return key !== undefined && keys.isKnownSync(key)
  }

  const plan = (request: IncomingMessage): HotRead | undefined => {
    if (request.method !== "GET") return undefined
    const url = request.url
    if (url === undefined || !url.startsWith("/api/bg/")) return undefined
    const queryAt = url.indexOf("?")
    const path = queryAt === -1 ? url : url.slice(0, queryAt)
    const rest = path.slice(8)
    const slash = rest.indexOf("/")
    const segment = slash === -1 ? rest : rest.slice(0, slash)
    const latest = slash !== -1 && rest.slice(slash) === "/latest"
    if (slash !== -1 && !latest) return undefined
    if (!PLAIN_SEGMENT.test(segment) || shadowedUserIds.has(segment)) return undefined
    const params = decodeParams({ userId: segment })
    if (Exit.isFailure(params)) return undefined
    if (!authorized(request)) return undefined
    if (latest) return queryAt === -1 ? { _tag: "latest", userId: params.value.userId } : undefined
    const record: Record<string, string> = {}
    if (queryAt !== -1) {
      const text = url.slice(queryAt + 1)
      if (!PLAIN_QUERY.test(text)) return undefined
      for (const pair of text.split("&")) {
        const equals = pair.indexOf("=")
        const key = equals === -1 ? pair : pair.slice(0, equals)
        if (!QUERY_KEYS.has(key) || Object.hasOwn(record, key)) return undefined
        record[key] = equals === -1 ? "" : pair.slice(equals + 1)
      }
    }
    const query = decodeQuery(record)
    if (Exit.isFailure(query)) return undefined
    return { _tag: "range", userId: params.value.userId, query: query.value }
  }

  const answer = (response: ServerResponse, body: string) => {
    response.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
    response.end(body)
  }

  const serve = (read: HotRead, response: ServerResponse, fallback: () => void): void => {
    if (read._tag === "latest") {
      run(store.latest(read.userId), {
        onExit: (exit) => {
          if (Exit.isSuccess(exit) && Option.isSome(exit.value)) {
            answer(response, JSON.stringify(toReadingJson(exit.value.value)))
          } else fallback()
        }
      })
      return
    }
    const { userId, query } = read
    // The window from the service's clock, as the handler takes it (a test's clock in tests).
    const readings = Effect.flatMap(DateTime.now, (now) => {
      const window = rangeWindow(query, now)
      return window._tag === "Failure"
        ? Effect.succeed(undefined)
        : store.range(userId, makeWindow(window.success.from, window.success.to), query.limit ?? MAX_RANGE_LIMIT)
    })
    run(readings, {
      onExit: (exit) => {
        if (Exit.isSuccess(exit) && exit.value !== undefined) {
          answer(response, JSON.stringify(exit.value.map(toReadingJson)))
        } else fallback()
      }
    })
  }

  return { plan, serve }
}

/**
 * Puts the hot path on `server`, behind the "request" listeners it already has (request ids, the duration
 * histogram, the request log, the default headers: they see every request, hot or not) and ahead of those added
 * later (the router's). A planned read is answered here; any other request, and a planned read that falls back,
 * goes to the router as before.
 */
export const serveHotReads = (server: Server, hotReads: HotReads["Service"]): void => {
  const edge = server.listeners("request") as Array<(request: IncomingMessage, response: ServerResponse) => void>
  const emit = server.emit
  server.emit = function (this: Server, event: string | symbol, ...args: Array<unknown>): boolean {
    if (event === "request") {
      const request = args[0] as IncomingMessage
      const read = hotReads.plan(request)
      if (read !== undefined) {
        const response = args[1] as ServerResponse
        for (const listener of edge) listener.call(this, request, response)
        hotReads.serve(read, response, () => {
          for (const listener of this.listeners("request") as typeof edge) {
            if (!edge.includes(listener)) listener.call(this, request, response)
          }
        })
        return true
      }
    }
    return (emit as (event: string | symbol, ...args: Array<unknown>) => boolean).call(this, event, ...args)
  } as Server["emit"]
}
