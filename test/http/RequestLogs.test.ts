import { InMemoryConnectionStore, InMemoryEventPublisher, InMemoryReadingStore } from "@bg-ingest/adapters/memory"
import { makeSimulatorProvider } from "@bg-ingest/adapters/simulator"
import {
  CgmProviders,
  ConnectionStore,
  Ingest,
  makeReading,
  newConnection,
  ProviderId,
  Sync,
  UserId
} from "@bg-ingest/domain"
import { ApiRoutes, routerConfig } from "@bg-ingest/http/server"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Logger, References } from "effect"
import { HttpRouter } from "effect/http"
import { del, get, post } from "../support/server.ts"

interface Line {
  readonly message: unknown
  readonly annotations: Readonly<Record<string, unknown>>
}

const lines: Array<Line> = []
const capture = Logger.make((options) => {
  const message = Array.isArray(options.message) ? options.message : [options.message]
  lines.push({
    message: message[0],
    annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations), ...(message[1] as object) }
  })
})

const now = DateTime.nowUnsafe()
const u1 = UserId.make("u1")
const simulator = ProviderId.make("simulator")

const seeded = Layer.effectDiscard(
  Effect.gen(function* () {
    yield* (yield* Ingest).ingest(u1, [
      makeReading({
        userId: u1,
        timestamp: DateTime.subtract(now, { minutes: 3 }),
        glucoseMgDl: 120,
        source: { provider: simulator, recordId: null }
      })
    ])
    yield* (yield* ConnectionStore).upsert(
      newConnection({
        userId: u1,
        provider: simulator,
        backfillFrom: DateTime.subtract(now, { hours: 1 }),
        credentials: null,
        now
      })
    )
  })
).pipe(
  Layer.provideMerge(Sync.layer),
  Layer.provideMerge(Ingest.layer),
  Layer.provideMerge(
    Layer.mergeAll(
      InMemoryReadingStore.layer,
      InMemoryConnectionStore.layer,
      InMemoryEventPublisher.layer(),
      CgmProviders.layer([makeSimulatorProvider()])
    )
  )
)

// Served as packages/runner/src/App.ts serves them: without the router's per-request access log.
const server = HttpRouter.serve(ApiRoutes, { disableListenLog: true, disableLogger: true, routerConfig }).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provide(seeded),
  Layer.provide(Logger.layer([capture]))
)

describe("request logs", () => {
  it.live("reads write no log line; a sync on request and a disconnect say what they did", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* get("/api/bg/u1/latest")).status, 200)
      assert.strictEqual((yield* get("/api/bg/u1?limit=5")).status, 200)
      assert.strictEqual((yield* get("/api/bg/nobody/latest")).status, 404)
      assert.strictEqual((yield* get("/api/bg/u1/connections")).status, 200)
      assert.deepStrictEqual(lines, [])

      const synced = yield* post("/api/bg/u1/connections/simulator/sync")
      assert.strictEqual(synced.status, 200)
      assert.strictEqual((yield* post("/api/bg/u1/connections/nope/sync")).status, 404)
      assert.strictEqual((yield* del("/api/bg/u1/connections/simulator")).status, 204)
      assert.deepStrictEqual(
        lines.map((line) => line.message),
        ["Sync on request", "Sync on request failed", "Connection disconnected"]
      )
      assert.deepStrictEqual(lines[0]!.annotations, {
        userId: "u1",
        provider: "simulator",
        inserted: synced.body.inserted,
        updated: synced.body.updated
      })
      assert.isAbove(synced.body.inserted, 0)
      assert.strictEqual(lines[1]!.annotations.provider, "nope")
    }).pipe(Effect.provide(server), Effect.scoped)
  )
})
