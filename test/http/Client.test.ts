import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { BgIngestClient } from "@bg-ingest/http/client"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { HttpClient, HttpClientResponse, HttpServer } from "effect/http"
import { domainLayer } from "../support/domain.ts"
import { testServer } from "../support/server.ts"

const KEY = "client-key-0123456789abcdef"
const NEWEST = DateTime.makeUnsafe("2026-03-01T12:00:00Z")
const readings = Array.from({ length: 12 }, (_, index) =>
  makeReading({
    userId: UserId.make("u1"),
    timestamp: DateTime.subtract(NEWEST, { minutes: (11 - index) * 5 }),
    glucoseMgDl: 100 + index,
    trend: "flat",
    trendRate: 0.5,
    source: { provider: ProviderId.make("test"), recordId: `r${index}` }
  })
)

const seeded = Layer.effectDiscard(Ingest.use((ingest) => ingest.ingest(UserId.make("u1"), readings))).pipe(
  Layer.provideMerge(domainLayer([]))
)

/** Runs `body` with a client of a real server (with `API_KEYS` set) that presents `apiKey`. */
const withClient = <A, E>(
  apiKey: string | Redacted.Redacted<string> | undefined,
  body: Effect.Effect<A, E, BgIngestClient>
) =>
  HttpServer.addressFormattedWith((baseUrl) =>
    body.pipe(Effect.provide(BgIngestClient.layer(apiKey === undefined ? { baseUrl } : { baseUrl, apiKey })))
  ).pipe(Effect.provide(testServer(seeded, {}, [KEY])), Effect.scoped)

describe("BgIngestClient", () => {
  it.live("reads the latest reading and a range with typed results", () =>
    withClient(
      KEY,
      Effect.gen(function* () {
        const client = yield* BgIngestClient
        const latest = yield* client.readings.latest({ params: { userId: UserId.make("u1") } })
        assert.strictEqual(latest.glucose_mg_dl, 111)
        assert.strictEqual(latest.timestamp, "2026-03-01T12:00:00Z")
        assert.strictEqual(latest.trend, "flat")

        const range = yield* client.readings.range({
          params: { userId: UserId.make("u1") },
          query: { from: DateTime.subtract(NEWEST, { minutes: 30 }), to: NEWEST }
        })
        assert.deepStrictEqual(
          range.map((reading) => reading.glucose_mg_dl),
          [105, 106, 107, 108, 109, 110]
        )
      })
    )
  )

  it.live("fails with the API's typed errors, caught by tag", () =>
    withClient(
      Redacted.make(KEY),
      Effect.gen(function* () {
        const client = yield* BgIngestClient
        const missing = yield* client.readings.latest({ params: { userId: UserId.make("nobody") } }).pipe(
          Effect.map(() => "found"),
          Effect.catchTag("NoReadings", (error) => Effect.succeed(`${error.status} ${error.type}`))
        )
        assert.strictEqual(missing, "404 urn:bg-ingest:problem:no-readings")

        const tooLong = yield* client.readings
          .range({
            params: { userId: UserId.make("u1") },
            query: { from: DateTime.subtract(NEWEST, { days: 91 }), to: NEWEST }
          })
          .pipe(
            Effect.map(() => "answered"),
            Effect.catchTag("BadRequestProblem", (error) => Effect.succeed(`${error.status} ${error.detail}`))
          )
        assert.match(tooLong, /^400 .*90 days/)
      })
    )
  )

  it.live("opens, rotates and closes a user's Nightscout site with typed answers", () =>
    withClient(
      KEY,
      Effect.gen(function* () {
        const client = yield* BgIngestClient
        const userId = UserId.make("u1")
        const opened = yield* client.nightscout.open({ params: { userId } })
        assert.strictEqual(opened.site_path, "/ns/u1")
        assert.match(opened.read_token, /^follower-/)
        const rotated = yield* client.nightscout.open({ params: { userId } })
        assert.notStrictEqual(rotated.api_secret, opened.api_secret)
        yield* client.nightscout.close({ params: { userId } })
        const again = yield* client.nightscout.close({ params: { userId } }).pipe(
          Effect.map(() => "closed"),
          Effect.catchTag("NightscoutSiteNotFound", (error) => Effect.succeed(`${error.status}`))
        )
        assert.strictEqual(again, "404")
      })
    )
  )

  it.live("without a key, or with a wrong one, the API answers Unauthorized", () =>
    Effect.gen(function* () {
      for (const apiKey of [undefined, "wrong-key-0123456789abcdef"]) {
        const error = yield* withClient(
          apiKey,
          BgIngestClient.use((client) => client.readings.latest({ params: { userId: UserId.make("u1") } })).pipe(
            Effect.flip
          )
        )
        assert.strictEqual(error._tag, "Unauthorized")
      }
    })
  )

  it.effect("sends the key only to the routes guarded by ApiKeyAuth", () =>
    Effect.gen(function* () {
      const seen: Array<{ readonly url: string; readonly authorization: string | undefined }> = []
      const recording = HttpClient.make((request) => {
        seen.push({ url: request.url, authorization: request.headers.authorization })
        return Effect.succeed(HttpClientResponse.fromWeb(request, new Response(null, { status: 599 })))
      })
      const client = yield* BgIngestClient.pipe(
        Effect.provide(
          BgIngestClient.layerNoDeps({ baseUrl: "http://bg-ingest.test", apiKey: KEY }).pipe(
            Layer.provide(Layer.succeed(HttpClient.HttpClient, recording))
          )
        )
      )
      const userId = UserId.make("u1")
      yield* Effect.ignore(client.readings.latest({ params: { userId } }))
      yield* Effect.ignore(client.connections.list({ params: { userId } }))
      yield* Effect.ignore(client.health())
      yield* Effect.ignore(client.webhook.push({ params: { userId }, headers: {}, payload: { readings: [] } }))
      assert.deepStrictEqual(seen, [
        { url: "http://bg-ingest.test/api/bg/u1/latest", authorization: `Bearer ${KEY}` },
        { url: "http://bg-ingest.test/api/bg/u1/connections", authorization: `Bearer ${KEY}` },
        { url: "http://bg-ingest.test/health", authorization: undefined },
        { url: "http://bg-ingest.test/api/bg/u1/webhook", authorization: undefined }
      ])
    })
  )
})
