import type { IncomingMessage } from "node:http"
import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { ApiKeys, HotReads } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { Context, DateTime, Effect, Layer, Redacted } from "effect"
import { HttpServer } from "effect/http"
import { manualClock } from "../support/clock.ts"
import { testCrypto } from "../support/crypto.ts"
import { domainLayer } from "../support/domain.ts"
import { testServer } from "../support/server.ts"

/**
 * The hot path (HotReads: latest and range answered at the server's edge) against the router, the contract's own
 * path: two servers over one store, one with the hot path and one without, must answer every request alike —
 * status, headers (but the request id, generated per answer, and the transport's date and keep-alive) and body
 * bytes — over valid and invalid inputs: bad instants, unknown users, bad or missing API keys, the limits.
 */

const provider = ProviderId.make("test")
const NOW = DateTime.makeUnsafe("2026-02-10T12:00:00Z")
const NEWEST = DateTime.subtract(NOW, { minutes: 2 })
// One reading every 5 minutes for 100 days: enough for the 90-day limit to bind.
const COUNT = 100 * 288
const readings = Array.from({ length: COUNT }, (_, index) =>
  makeReading({
    userId: UserId.make("u1"),
    timestamp: DateTime.subtract(NEWEST, { minutes: (COUNT - 1 - index) * 5 }),
    glucoseMgDl: 40 + (index % 360),
    trend: index % 3 === 0 ? "flat" : index % 3 === 1 ? "fortyFiveUp" : "rateOutOfRange",
    trendRate: index % 3 === 2 ? null : 0.1 * (index % 30),
    status: index % 360 === 0 ? "low" : "ok",
    source: { provider, recordId: `r${index}` }
  })
)
const seeded = Layer.effectDiscard(Ingest.use((ingest) => ingest.ingest(UserId.make("u1"), readings))).pipe(
  Layer.provideMerge(domainLayer([]))
)

const KEY = "hot-reads-test-key-0123456789"

/** Headers that belong to the answer, not to the connection or the moment. */
const ANSWER_HEADERS = (headers: Headers) =>
  [...headers].filter(([name]) => !["date", "connection", "keep-alive", "x-request-id"].includes(name)).sort()

interface Answer {
  readonly status: number
  readonly headers: ReadonlyArray<[string, string]>
  readonly requestId: string | null
  readonly body: string
}

const ask = (base: string, path: string, init: RequestInit) =>
  Effect.promise(async (): Promise<Answer> => {
    const response = await fetch(`${base}${path}`, { ...init, keepalive: false })
    return {
      status: response.status,
      headers: ANSWER_HEADERS(response.headers),
      requestId: response.headers.get("x-request-id"),
      body: await response.text()
    }
  })

const at = (instant: DateTime.Utc) => DateTime.formatIso(instant).replace(".000Z", "Z")

const PATHS: ReadonlyArray<string> = [
  // latest: valid, unknown user, invalid user ids, other spellings
  "/api/bg/u1/latest",
  "/api/bg/nobody/latest",
  "/api/bg/-u1/latest",
  `/api/bg/${"u".repeat(129)}/latest`,
  `/api/bg/${"u".repeat(128)}/latest`,
  "/api/bg/u%31/latest",
  "/api/bg/u1%2Flatest",
  "/api/bg/u1;x/latest",
  "/api/bg/u1/latest/",
  "/api/bg/u1/latest?x=1",
  "/api/bg/u1/Latest",
  "/api/bg//latest",
  // range: defaults, explicit windows, the user without readings
  "/api/bg/u1",
  "/api/bg/nobody",
  `/api/bg/u1?from=${at(DateTime.subtract(NOW, { hours: 3 }))}&to=${at(NOW)}`,
  `/api/bg/u1?from=${at(DateTime.subtract(NOW, { hours: 3 }))}`,
  `/api/bg/u1?to=${at(DateTime.subtract(NOW, { days: 1 }))}`,
  "/api/bg/u1?from=2026-02-10T10:00:00%2B01:00&to=2026-02-10T12:00:00Z",
  "/api/bg/u1?from=2026-02-10T10:00:00+01:00",
  "/api/bg/u1?from=2026-02-10T10%3A00%3A00Z",
  "/api/bg/u1?from=2026-02-10t10:00:00z",
  "/api/bg/u1?from=2026-02-10 10:00:00Z",
  "/api/bg/u1?from=2026-02-10T10:00:00.123456789Z",
  // bad instants
  "/api/bg/u1?from=yesterday",
  "/api/bg/u1?from=2026-02-30T00:00:00Z",
  "/api/bg/u1?from=2026-02-10T10:00:00",
  "/api/bg/u1?from=0080-06-01T00:00:00Z",
  "/api/bg/u1?to=10000-01-01T00:00:00Z",
  "/api/bg/u1?from=2026-02-10T24:00:00Z",
  "/api/bg/u1?from=",
  "/api/bg/u1?from",
  // windows and limits
  `/api/bg/u1?from=${at(NOW)}&to=${at(DateTime.subtract(NOW, { hours: 1 }))}`,
  `/api/bg/u1?from=${at(DateTime.subtract(NOW, { days: 90 }))}&to=${at(NOW)}`,
  `/api/bg/u1?from=${at(DateTime.subtract(NOW, { days: 91 }))}&to=${at(NOW)}`,
  `/api/bg/u1?to=${at(DateTime.add(NOW, { days: 91 }))}`,
  "/api/bg/u1?limit=1",
  "/api/bg/u1?limit=50000",
  "/api/bg/u1?limit=0",
  "/api/bg/u1?limit=50001",
  "/api/bg/u1?limit=-1",
  "/api/bg/u1?limit=1.5",
  "/api/bg/u1?limit=abc",
  "/api/bg/u1?limit=1e2",
  "/api/bg/u1?limit=1&limit=2",
  "/api/bg/u1?from=2026-02-10T10:00:00Z&from=2026-02-10T11:00:00Z",
  "/api/bg/u1?unknown=1",
  "/api/bg/u1?&limit=3",
  "/api/bg/u1/",
  "/api/bg/u1?limit=3#fragment"
]

/** Paths above that the hot path takes itself (the comparison covers its answers, not only the router's). */
const HOT = [
  "/api/bg/u1/latest",
  "/api/bg/nobody/latest",
  "/api/bg/u1",
  "/api/bg/nobody",
  `/api/bg/u1?from=${at(DateTime.subtract(NOW, { hours: 3 }))}&to=${at(NOW)}`,
  "/api/bg/u1?from=2026-02-10T10:00:00.123456789Z",
  `/api/bg/u1?from=${at(DateTime.subtract(NOW, { days: 90 }))}&to=${at(NOW)}`,
  "/api/bg/u1?limit=1",
  "/api/bg/u1?limit=50000"
]

const AUTHORIZATIONS: ReadonlyArray<Record<string, string>> = [
  {},
  { authorization: `Bearer ${KEY}` },
  { authorization: `bearer ${KEY}` },
  { authorization: `Bearer  ${KEY}` },
  { authorization: `Bearer ${KEY} ` },
  { authorization: "Bearer not-the-key-0123456789" },
  { authorization: "Bearer " },
  { authorization: `Basic ${KEY}` },
  { authorization: `Bearer ${KEY}`, "x-request-id": "given-id-1" }
]

/** Both servers over one seeded store on one clock: the hot path's and the router's. */
const bothServers = (apiKeys: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const clock = manualClock(NOW)
    const core = Layer.succeedContext(yield* Layer.build(seeded.pipe(Layer.provide(clock.layer))))
    const url = (hotReads: boolean) =>
      Effect.gen(function* () {
        const server = yield* Layer.build(
          testServer(core, {}, apiKeys, { hotReads }).pipe(Layer.provide(clock.layer))
        ).pipe(Effect.map((context) => Context.get(context, HttpServer.HttpServer)))
        const address = server.address as { readonly port: number }
        return `http://127.0.0.1:${address.port}`
      })
    // The hot path's own decision, to know that the comparison covered requests it answers itself.
    const hotReads = Context.get(
      yield* Layer.build(
        HotReads.layer.pipe(
          Layer.provide(core),
          Layer.provide(ApiKeys.layer(apiKeys.map((key) => Redacted.make(key)))),
          Layer.provide(testCrypto)
        )
      ),
      HotReads
    )
    return { hot: yield* url(true), router: yield* url(false), hotReads }
  })

const compareAll = (apiKeys: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { hot, router, hotReads } = yield* bothServers(apiKeys)
    let compared = 0
    const planned = new Set<string>()
    for (const path of PATHS) {
      for (const headers of AUTHORIZATIONS) {
        for (const method of ["GET", "HEAD"] as const) {
          const init = { method, headers }
          const [fromHot, fromRouter] = [yield* ask(hot, path, init), yield* ask(router, path, init)]
          const what = `${method} ${path} ${JSON.stringify(headers)}`
          assert.strictEqual(fromHot.status, fromRouter.status, what)
          assert.deepStrictEqual(fromHot.headers, fromRouter.headers, what)
          assert.strictEqual(fromHot.body, fromRouter.body, what)
          // Each answer has its own id, or the one the client gave.
          assert.isNotNull(fromHot.requestId, what)
          if (headers["x-request-id"] !== undefined) assert.strictEqual(fromHot.requestId, headers["x-request-id"])
          compared += 1
          const plan = hotReads.plan({ method, url: path, headers } as unknown as IncomingMessage)
          if (plan !== undefined) {
            planned.add(path)
            // What the hot path takes is what it can answer: a 200, or a fallback to the router (an empty latest).
            assert.include([200, 400, 404], fromHot.status, what)
          }
        }
      }
    }
    return { compared, planned }
  })

describe("the hot reads answer as the contract's path does", () => {
  it.live("without API keys: every input, the same status, headers and bytes", () =>
    Effect.gen(function* () {
      const { compared, planned } = yield* compareAll([])
      assert.strictEqual(compared, PATHS.length * AUTHORIZATIONS.length * 2)
      for (const path of HOT) assert.isTrue(planned.has(path), path)
    }).pipe(Effect.scoped)
  )

  it.live("with API keys: every input and every key, the same status, headers and bytes", () =>
    Effect.gen(function* () {
      const { compared, planned } = yield* compareAll([KEY])
      assert.strictEqual(compared, PATHS.length * AUTHORIZATIONS.length * 2)
      for (const path of HOT) assert.isTrue(planned.has(path), path)
    }).pipe(Effect.scoped)
  )
})
