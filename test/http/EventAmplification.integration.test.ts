import { join } from "node:path"
import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { SqliteDatabase, SqliteReadingStore } from "@bg-ingest/adapters/sqlite"
import { Ingest, type ReadingStore } from "@bg-ingest/domain"
import { afterAll, assert, describe, it, vi } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { dynamoStoresLayer, startDynalite } from "../support/dynamodb.ts"
import { postRaw, testServer } from "../support/server.ts"
import { scratchDirectory } from "../support/sqlite.ts"
import { webhookHeaders } from "../support/webhook.ts"

// 50 concurrent copies of one delivery of 100 readings used to publish 1,500 (SQLite) and 5,100 (DynamoDB)
// events: every copy that found the readings stored but not yet confirmed published them again.
// dynalite has no transactions: 5,000 single conditional writes on a shared 2-core machine take a while.
vi.setConfig({ testTimeout: 120_000 })
const dynalite = await startDynalite()
afterAll(() => dynalite.stop())

const COPIES = 50
const READINGS = 100

const delivery = () => {
  const start = Date.now() - 2 * 86_400_000
  return new TextEncoder().encode(
    JSON.stringify({
      readings: Array.from({ length: READINGS }, (_, index) => ({
        timestamp: `${new Date(start + index * 300_000).toISOString().slice(0, 19)}Z`,
        glucose_mg_dl: 100 + index,
        trend: "flat"
      }))
    })
  )
}

const stores: ReadonlyArray<[string, () => Layer.Layer<ReadingStore, unknown>]> = [
  [
    "SQLite",
    () =>
      Layer.unwrap(
        Effect.map(scratchDirectory, (directory) =>
          SqliteReadingStore.layer.pipe(Layer.provide(SqliteDatabase.layer({ filename: join(directory, "bg.db") })))
        )
      )
  ],
  ["DynamoDB (dynalite)", () => dynamoStoresLayer(dynalite.endpoint)]
]

describe("concurrent identical deliveries publish each event once", () => {
  for (const [name, readingStore] of stores) {
    it.live(`${name}: ${COPIES} copies of ${READINGS} readings publish exactly the inserted count`, () => {
      const core = domainLayer([], { readingStore: readingStore() })
      return Effect.gen(function* () {
        const body = delivery()
        const path = "/api/bg/amplified/webhook"
        const answers = yield* Effect.forEach(
          Array.from({ length: COPIES }),
          () => postRaw(path, body, webhookHeaders(path, body)),
          { concurrency: "unbounded" }
        )
        assert.deepStrictEqual(
          [...new Set(answers.map((answer) => answer.status))],
          [202],
          JSON.stringify(answers.find((answer) => answer.status !== 202)?.body)
        )
        const inserted = answers.reduce((sum, answer) => sum + answer.body.inserted, 0)
        assert.strictEqual(inserted, READINGS)
        const events = yield* InMemoryEventLog.use((log) => log.events)
        assert.strictEqual(events.length, inserted)
        assert.strictEqual(new Set(events.map((event) => event.eventId)).size, READINGS)
        // Nothing is left owed: the one publish of each event was confirmed.
        assert.strictEqual(yield* Ingest.use((ingest) => ingest.republishUnconfirmed(1000)), 0)
      }).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped)
    })
  }
})
