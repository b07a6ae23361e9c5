import { dexcomWebhookFormat } from "@bg-ingest/adapters/dexcom"
import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { get, postRaw, testServer } from "../support/server.ts"
import { webhookHeaders } from "../support/webhook.ts"

const core = domainLayer([])
const withServer = <A, E>(body: Effect.Effect<A, E, any>) =>
  body.pipe(
    Effect.provide(testServer(core, { formats: [dexcomWebhookFormat] }).pipe(Layer.provideMerge(core))),
    Effect.scoped
  )

const minute = (index: number) =>
  `${new Date(Date.now() - 40 * 86_400_000 + index * 60_000).toISOString().slice(0, 19)}Z`
const record = (index: number) => ({ systemTime: minute(index), value: 100 })
const reading = (index: number) => ({ timestamp: minute(index), glucose_mg_dl: 100 })

const deliver = (json: unknown) => {
  const body = new TextEncoder().encode(JSON.stringify(json))
  const path = "/api/bg/capped/webhook"
  return postRaw(path, body, webhookHeaders(path, body))
}

describe("the 10,000-reading cap counts everything a delivery would decode", () => {
  it.live("an empty readings array does not let 20,000 records through", () =>
    withServer(
      Effect.gen(function* () {
        const cases: Array<[string, unknown]> = [
          [
            "20,000 records beside an empty readings array",
            { readings: [], records: Array.from({ length: 20_000 }, (_, i) => record(i)) }
          ],
          ["10,001 records", { records: Array.from({ length: 10_001 }, (_, i) => record(i)) }],
          [
            "5,001 readings and 5,000 records",
            {
              readings: Array.from({ length: 5_001 }, (_, i) => reading(i)),
              records: Array.from({ length: 5_000 }, (_, i) => record(i))
            }
          ]
        ]
        for (const [name, json] of cases) {
          const answer = yield* deliver(json)
          assert.strictEqual(answer.status, 413, name)
          assert.strictEqual(answer.contentType, "application/problem+json", name)
        }
        assert.strictEqual((yield* get("/api/bg/capped/latest")).status, 404)
        assert.strictEqual((yield* InMemoryEventLog.use((log) => log.events)).length, 0)
        const most = yield* deliver({ records: Array.from({ length: 10_000 }, (_, i) => record(i)) })
        assert.deepStrictEqual([most.status, most.body.inserted], [202, 10_000])
      })
    )
  )
})
