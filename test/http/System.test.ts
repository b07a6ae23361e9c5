import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { ReadingStore, ReadingStoreError } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { get, request, testServer } from "../support/server.ts"

const core = domainLayer([])

const withServer = <A, E>(body: Effect.Effect<A, E, any>, base: Layer.Layer<any, any> = core) =>
  body.pipe(Effect.provide(testServer(base).pipe(Layer.provideMerge(base))), Effect.scoped)

const problem = (answer: { status: number; contentType: string; body: any }, status: number) => {
  assert.strictEqual(answer.status, status)
  assert.strictEqual(answer.contentType, "application/problem+json")
  assert.strictEqual(answer.body.status, status)
  assert.isString(answer.body.detail)
}

/** A store that is down: every call fails. */
const downStore = Layer.succeed(ReadingStore, {
  putMany: () =>
    Effect.fail(new ReadingStoreError({ operation: "putMany", message: "SQLite putMany failed: disk I/O" })),
  markPublished: () => Effect.fail(new ReadingStoreError({ operation: "markPublished", message: "down" })),
  unpublished: () => Effect.fail(new ReadingStoreError({ operation: "unpublished", message: "down" })),
  claimUnpublished: () => Effect.fail(new ReadingStoreError({ operation: "claimUnpublished", message: "down" })),
  releaseUnpublished: () => Effect.fail(new ReadingStoreError({ operation: "releaseUnpublished", message: "down" })),
  latest: () => Effect.fail(new ReadingStoreError({ operation: "latest", message: "down" })),
  range: () => Effect.fail(new ReadingStoreError({ operation: "range", message: "down" })),
  deleteUser: () => Effect.fail(new ReadingStoreError({ operation: "deleteUser", message: "down" })),
  ping: Effect.fail(new ReadingStoreError({ operation: "ping", message: "down" }))
})

describe("system routes and error answers", () => {
  it.live("health and readiness", () =>
    withServer(
      Effect.gen(function* () {
        assert.deepStrictEqual((yield* get("/health")).body, { status: "ok" })
        const ready = yield* get("/ready")
        assert.deepStrictEqual(
          [ready.status, ready.body],
          [200, { status: "ready", checks: { store: "ok", broker: "ok" } }]
        )
        yield* InMemoryEventLog.use((log) => log.failNext(1))
        const notReady = yield* get("/ready")
        problem(notReady, 503)
        assert.deepStrictEqual(notReady.body.checks, { store: "ok", broker: "down" })
        assert.include(notReady.body.detail, "broker")
      })
    )
  )

  it.live("a store that is down answers 503 problems, not stack traces, and readiness names it", () =>
    withServer(
      Effect.gen(function* () {
        const latest = yield* get("/api/bg/u1/latest")
        problem(latest, 503)
        assert.strictEqual(latest.body.dependency, "store")
        assert.notInclude(JSON.stringify(latest.body), "disk I/O")
        problem(yield* get("/api/bg/u1"), 503)
        const ready = yield* get("/ready")
        assert.deepStrictEqual([ready.status, ready.body.checks.store], [503, "down"])
      }),
      Layer.merge(core, downStore)
    )
  )

  it.live("unknown routes are 404 and wrong methods 405 with Allow, as problems", () =>
    withServer(
      Effect.gen(function* () {
        problem(yield* get("/nothing/here"), 404)
        problem(yield* get("/api/bg/u1/latest/extra"), 404)
        const wrong = yield* request("PUT", "/api/bg/u1/latest")
        problem(wrong, 405)
        assert.strictEqual(wrong.headers.allow, "GET, HEAD")
        const wrongSync = yield* request("GET", "/api/bg/u1/connections/simulator/sync")
        problem(wrongSync, 405)
        assert.strictEqual(wrongSync.headers.allow, "POST")
        const wrongHealth = yield* request("POST", "/health")
        problem(wrongHealth, 405)
      })
    )
  )

  it.live("the OpenAPI document describes every endpoint, and /docs serves it", () =>
    withServer(
      Effect.gen(function* () {
        const openapi = yield* get("/openapi.json")
        assert.strictEqual(openapi.status, 200)
        assert.match(openapi.body.openapi, /^3\.1\./)
        const paths = Object.keys(openapi.body.paths).sort()
        const nightscoutSite = (base: string) => [
          ...[
            "status.json",
            "status",
            "verifyauth",
            "experiments/test",
            "entries",
            "entries.json",
            "entries/{spec}"
          ].map((path) => `${base}/api/v1/${path}`),
          ...["treatments", "devicestatus", "profile"].flatMap((collection) => [
            `${base}/api/v1/${collection}`,
            `${base}/api/v1/${collection}.json`
          ]),
          `${base}/pebble`
        ]
        assert.deepStrictEqual(
          paths,
          [
            "/api/bg/{userId}",
            "/api/bg/{userId}/connections",
            "/api/bg/{userId}/connections/{provider}",
            "/api/bg/{userId}/connections/{provider}/sync",
            "/api/bg/{userId}/latest",
            "/api/bg/{userId}/nightscout",
            "/api/bg/{userId}/report",
            "/api/bg/{userId}/summary",
            "/api/bg/{userId}/webhook",
            "/api/connections/{provider}/authorize",
            "/api/connections/{provider}/callback",
            "/health",
            "/ready",
            ...nightscoutSite(""),
            ...nightscoutSite("/ns/{userId}")
          ].sort()
        )
        const upload = openapi.body.paths["/ns/{userId}/api/v1/entries.json"].post
        assert.strictEqual(
          upload.requestBody.content["application/json"].schema.$ref,
          "#/components/schemas/NightscoutUpload"
        )
        for (const status of ["200", "400", "401", "413", "415", "503"]) assert.property(upload.responses, status)
        const entries = openapi.body.paths["/api/v1/entries.json"].get
        assert.includeMembers(
          entries.parameters.map((parameter: { name: string }) => parameter.name),
          ["count", "token", "find[date][$gte]", "find[dateString][$lt]", "api-secret"]
        )
        const range = openapi.body.paths["/api/bg/{userId}"].get
        assert.deepStrictEqual(range.parameters.map((parameter: { name: string }) => parameter.name).sort(), [
          "from",
          "limit",
          "to",
          "userId"
        ])
        assert.property(range.responses, "400")
        const connect = openapi.body.paths["/api/bg/{userId}/connections/{provider}"]
        assert.deepStrictEqual(Object.keys(connect).sort(), ["delete", "put"])
        assert.deepStrictEqual(connect.put.requestBody.content["application/json"].schema.anyOf, [
          { $ref: "#/components/schemas/Credentials" },
          { $ref: "#/components/schemas/SiteAccess" }
        ])
        assert.deepStrictEqual(openapi.body.components.schemas.SiteAccess.required, ["url"])
        assert.deepStrictEqual(openapi.body.components.schemas.Credentials.required, ["username", "password"])
        for (const status of ["200", "201", "400", "401", "404", "429", "502", "503"]) {
          assert.property(connect.put.responses, status)
        }
        const docs = yield* get("/docs")
        assert.strictEqual(docs.status, 200)
        assert.include(docs.contentType, "text/html")
      })
    )
  )
})
