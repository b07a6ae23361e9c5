import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { fiveMinutesAgo, openSite, storedReadings, upload } from "../support/nightscout.ts"
import { makeObservedStore, observedReadingStore } from "../support/observedStore.ts"
import { postRaw, testServer } from "../support/server.ts"
import { webhookHeaders } from "../support/webhook.ts"

/**
 * The largest bodies the service takes (20,000 Nightscout entries, 10,000 webhook readings) were stored in one
 * store call and published in one go: on SQLite about a second during which no other request was answered, at any
 * rate one user's upload could. Stored in bounded pieces, other requests are served between them.
 */

const MOST_READINGS_PER_CALL = 2_000

const withServer = <A, E>(body: (batches: ReadonlyArray<number>) => Effect.Effect<A, E, any>) =>
  Effect.gen(function* () {
    const observed = yield* makeObservedStore
    const core = domainLayer([], { readingStore: observedReadingStore(observed) })
    return yield* body(observed.batches).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))))
  }).pipe(Effect.scoped)

const events = InMemoryEventLog.use((log) => log.events)

describe("large uploads are stored in bounded pieces", () => {
  it.live("20,000 Nightscout entries: every one stored and evented once, no store call given more than 2,000", () =>
    withServer((batches) =>
      Effect.gen(function* () {
        const site = yield* openSite("alice")
        const entries = Array.from({ length: 20_000 }, (_, index) => ({
          type: "sgv",
          sgv: 60 + (index % 300),
          date: fiveMinutesAgo(index + 1),
          device: "xDrip-DexcomG6"
        }))
        const answer = yield* upload("/ns/alice/api/v1/entries", entries, site.secretHeader)
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(answer.body.length, 20_000)
        assert.strictEqual((yield* storedReadings("alice")).length, 20_000)
        assert.strictEqual((yield* events).length, 20_000)
        assert.isAbove(batches.length, 1)
        assert.isAtMost(Math.max(...batches), MOST_READINGS_PER_CALL)
        // Again: nothing new, nothing published again.
        const again = yield* upload("/ns/alice/api/v1/entries", entries, site.secretHeader)
        assert.strictEqual(again.status, 200)
        assert.strictEqual((yield* events).length, 20_000)
      })
    )
  )

  it.live("10,000 webhook readings: every one stored once, no store call given more than 2,000", () =>
    withServer((batches) =>
      Effect.gen(function* () {
        const readings = Array.from({ length: 10_000 }, (_, index) => ({
          timestamp: new Date(fiveMinutesAgo(index + 1)).toISOString().replace(".000Z", "Z"),
          glucose_mg_dl: 60 + (index % 300)
        }))
        const path = "/api/bg/bob/webhook"
        const body = new TextEncoder().encode(JSON.stringify({ readings }))
        const answer = yield* postRaw(path, body, webhookHeaders(path, body))
        assert.strictEqual(answer.status, 202, JSON.stringify(answer.body))
        assert.deepStrictEqual([answer.body.received, answer.body.inserted], [10_000, 10_000])
        assert.strictEqual((yield* storedReadings("bob")).length, 10_000)
        assert.isAtMost(Math.max(...batches), MOST_READINGS_PER_CALL)
      })
    )
  )
})
