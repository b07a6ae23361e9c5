import {
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryOAuthStateStore,
  InMemoryReadingStore
} from "@bg-ingest/adapters/memory"
import { makeSimulatorProvider, modelReadings, profileOf } from "@bg-ingest/adapters/simulator"
import {
  CgmProviders,
  Connect,
  ConnectionStore,
  formatInstant,
  Ingest,
  makeReading,
  newConnection,
  ProviderId,
  Sync,
  UserId
} from "@bg-ingest/domain"
import { ApiKeys, ApiRoutes, routerConfig, ServerPolicy, WebhookConfig } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Logger, Redacted, References } from "effect"
import { HttpRouter } from "effect/http"
import { manualClock } from "../support/clock.ts"
import { testCrypto } from "../support/crypto.ts"
import { nightscoutSitesInMemory } from "../support/domain.ts"
import { del, get, observedTestServer, post } from "../support/server.ts"

interface Line {
  readonly level: string
  readonly message: unknown
  readonly annotations: Readonly<Record<string, unknown>>
}

const lines: Array<Line> = []
const capture = Logger.make((options) => {
  const message = Array.isArray(options.message) ? options.message : [options.message]
  lines.push({
    level: options.logLevel,
    message: message[0],
    annotations: { ...options.fiber.getRef(References.CurrentLogAnnotations), ...(message[1] as object) }
  })
})

/** The service's clock stands here, so what the simulator has measured by then is known exactly. */
const now = DateTime.makeUnsafe("2026-02-10T12:00:00Z")
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
  Layer.provideMerge(Layer.mergeAll(Sync.layer, Connect.layer)),
  Layer.provideMerge(nightscoutSitesInMemory),
  Layer.provideMerge(Ingest.layer),
  Layer.provideMerge(
    Layer.mergeAll(
      InMemoryReadingStore.layer,
      InMemoryConnectionStore.layer,
      InMemoryOAuthStateStore.layer,
      testCrypto,
      Layer.succeed(ApiKeys, { digests: [] }),
      Layer.succeed(ServerPolicy, { secureCookies: false }),
      Layer.succeed(WebhookConfig, { secrets: [Redacted.make("request-logs-secret-0123")], formats: [] }),
      InMemoryEventPublisher.layer(),
      CgmProviders.layer([makeSimulatorProvider()])
    )
  )
)

// Served as packages/runner/src/App.ts serves them: the router's own logger off, the service's request log on.
const server = HttpRouter.serve(ApiRoutes, { disableListenLog: true, disableLogger: true, routerConfig }).pipe(
  Layer.provideMerge(observedTestServer),
  Layer.provide(seeded),
  Layer.provide(Logger.layer([capture])),
  Layer.provide(Layer.succeed(References.MinimumLogLevel, "Debug")),
  Layer.provide(manualClock(now).layer)
)

/** The readings with a value the simulator measured for u1 in the connection's hour, but the one seeded. */
const simulated = modelReadings(
  profileOf("u1"),
  DateTime.toEpochMillis(now) / 1000 - 3600,
  DateTime.toEpochMillis(now) / 1000 + 1
).filter((record) => record.value !== null && record.epochSeconds !== DateTime.toEpochMillis(now) / 1000 - 180)

describe("request logs", () => {
  it.live(
    "one line per request (id, method, route pattern, status, duration); a sync and a disconnect say what they did",
    () =>
      Effect.gen(function* () {
        assert.strictEqual((yield* get("/api/bg/u1/latest", { "x-request-id": "given-id-1" })).status, 200)
        const from = formatInstant(DateTime.subtract(now, { hours: 2 }))
        assert.strictEqual((yield* get(`/api/bg/u1?limit=5&from=${from}`)).status, 200)
        assert.strictEqual((yield* get("/api/bg/nobody/latest")).status, 404)
        assert.strictEqual((yield* get("/api/bg/u1/connections")).status, 200)
        const requests = lines.filter((line) => line.message === "HTTP request")
        assert.deepStrictEqual(
          requests.map(({ annotations }) => [annotations.method, annotations.route, annotations.status]),
          [
            ["GET", "/api/bg/:userId/latest", 200],
            ["GET", "/api/bg/:userId", 200],
            ["GET", "/api/bg/:userId/latest", 404],
            ["GET", "/api/bg/:userId/connections", 200]
          ]
        )
        assert.strictEqual(requests[0]!.annotations.request_id, "given-id-1")
        assert.match(String(requests[1]!.annotations.request_id), /^[0-9a-f-]{36}$/)
        assert.isNumber(requests[1]!.annotations.duration_ms)
        // The route pattern, never the path with its user id or the query.
        assert.notInclude(JSON.stringify(requests), "nobody")
        assert.notInclude(JSON.stringify(requests), from)
        lines.length = 0

        const synced = yield* post("/api/bg/u1/connections/simulator/sync")
        assert.strictEqual(synced.status, 200)
        assert.strictEqual((yield* post("/api/bg/u1/connections/nope/sync")).status, 404)
        assert.strictEqual((yield* del("/api/bg/u1/connections/simulator")).status, 204)
        assert.deepStrictEqual(
          lines.filter((line) => line.message === "HTTP request").map((line) => [line.level, line.annotations.status]),
          [
            ["Info", 200],
            ["Info", 404],
            ["Info", 204]
          ]
        )
        const said = lines.filter((line) => line.message !== "HTTP request" && line.level !== "Debug")
        assert.deepStrictEqual(
          said.map((line) => line.message),
          ["Sync on request", "Sync on request failed", "Connection disconnected"]
        )
        assert.deepStrictEqual(
          [said[0]!.annotations.userId, said[0]!.annotations.provider, said[0]!.annotations.inserted],
          ["u1", "simulator", synced.body.inserted]
        )
        assert.isString(said[0]!.annotations.request_id)
        assert.strictEqual(synced.body.inserted, simulated.length)
        assert.strictEqual(said[1]!.annotations.provider, "nope")
      }).pipe(Effect.provide(server), Effect.scoped)
  )
})
