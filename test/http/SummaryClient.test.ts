import { Ingest, makeReading, ProviderId, TimeZoneName, UserId } from "@bg-ingest/domain"
import { BgIngestClient } from "@bg-ingest/http/client"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { domainLayer } from "../support/domain.ts"
import { at, every, times } from "../support/glucoseSeries.ts"
import { testServer } from "../support/server.ts"

const KEY = "summary-key-0123456789abcdef"
const USER = UserId.make("u1")
const readings = every(at("2025-06-02T00:00:00Z"), 300, [...times(6, 60), ...times(282, 120)]).map((point) =>
  makeReading({ userId: USER, ...point, source: { provider: ProviderId.make("test"), recordId: null } })
)
const seeded = Layer.effectDiscard(Ingest.use((ingest) => ingest.ingest(USER, readings))).pipe(
  Layer.provideMerge(domainLayer([]))
)

const withClient = <A, E>(apiKey: string | undefined, body: Effect.Effect<A, E, BgIngestClient>) =>
  HttpServer.addressFormattedWith((baseUrl) =>
    body.pipe(Effect.provide(BgIngestClient.layer(apiKey === undefined ? { baseUrl } : { baseUrl, apiKey })))
  ).pipe(Effect.provide(testServer(seeded, {}, [KEY])), Effect.scoped)

const query = {
  from: at("2025-06-02T00:00:00Z"),
  to: at("2025-06-03T00:00:00Z"),
  tz: TimeZoneName.make("Asia/Kolkata")
}

describe("BgIngestClient: summary and report", () => {
  it.live("reads the summary typed and the report as HTML, with the API key", () =>
    withClient(
      KEY,
      Effect.gen(function* () {
        const client = yield* BgIngestClient
        const summary = yield* client.summary.summary({ params: { userId: USER }, query })
        assert.strictEqual(summary.readings, 288)
        assert.strictEqual(summary.tz, "Asia/Kolkata")
        assert.deepStrictEqual(summary.hypoglycemia_events, { level_1: 1, level_2: 0 })
        assert.strictEqual(summary.agp?.[0]?.minute, 0)
        assert.strictEqual(summary.time_in_range?.low_percent, 2.1) // 6 of 288

        const report = yield* client.summary.report({ params: { userId: USER }, query })
        assert.match(report, /^<!doctype html>/)
        assert.include(report, 'data-field="readings" data-value="288"')

        const tooLong = yield* client.summary
          .summary({
            params: { userId: USER },
            query: { from: DateTime.subtract(query.to, { days: 91 }), to: query.to }
          })
          .pipe(Effect.flip)
        assert.strictEqual(tooLong._tag, "BadRequestProblem")
      })
    )
  )

  it.live("both need the API key when keys are configured", () =>
    Effect.gen(function* () {
      for (const apiKey of [undefined, "wrong-key-0123456789abcdef"]) {
        const errors = yield* withClient(
          apiKey,
          BgIngestClient.use((client) =>
            Effect.all([
              Effect.flip(client.summary.summary({ params: { userId: USER }, query })),
              Effect.flip(client.summary.report({ params: { userId: USER }, query }))
            ])
          )
        )
        assert.deepStrictEqual(
          errors.map((error) => error._tag),
          ["Unauthorized", "Unauthorized"]
        )
      }
    })
  )
})
