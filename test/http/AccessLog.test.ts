import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { ApiRoutes, routerConfig } from "@bg-ingest/http/server"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Logger, References } from "effect"
import { HttpRouter } from "effect/http"
import { domainLayer } from "../support/domain.ts"
import { get } from "../support/server.ts"

interface Line {
  readonly message: unknown
  readonly url: unknown
  readonly status: unknown
}

const lines: Array<Line> = []
const capture = Logger.make((options) => {
  const annotations = options.fiber.getRef(References.CurrentLogAnnotations)
  lines.push({ message: options.message, url: annotations["http.url"], status: annotations["http.status"] })
})

const core = Layer.effectDiscard(
  Ingest.use((ingest) =>
    ingest.ingest(UserId.make("u1"), [
      makeReading({
        userId: UserId.make("u1"),
        timestamp: DateTime.subtract(DateTime.nowUnsafe(), { minutes: 3 }),
        glucoseMgDl: 120,
        source: { provider: ProviderId.make("test"), recordId: null }
      })
    ])
  )
).pipe(Layer.provideMerge(domainLayer([])))

// As the service serves them: the router's access log on.
const server = HttpRouter.serve(ApiRoutes, { disableListenLog: true, routerConfig }).pipe(
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provide(core),
  Layer.provide(Logger.layer([capture]))
)

const accessLogged = (path: string) => lines.some((line) => line.url === path.split("?")[0])

describe("access log", () => {
  it.live("reads are not access-logged; the other routes are", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* get("/api/bg/u1/latest")).status, 200)
      assert.strictEqual((yield* get("/api/bg/u1?limit=5")).status, 200)
      assert.strictEqual((yield* get("/api/bg/nobody/latest")).status, 404)
      assert.strictEqual((yield* get("/api/bg/u1/connections")).status, 200)
      assert.strictEqual((yield* get("/health")).status, 200)
      assert.isFalse(accessLogged("/api/bg/u1/latest"))
      assert.isFalse(accessLogged("/api/bg/u1"))
      assert.isFalse(accessLogged("/api/bg/nobody/latest"))
      assert.isTrue(accessLogged("/api/bg/u1/connections"))
      assert.isTrue(lines.some((line) => line.url === "/health" && line.status === 200))
    }).pipe(Effect.provide(server), Effect.scoped)
  )
})
