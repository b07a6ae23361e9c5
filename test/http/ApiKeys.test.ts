import { createHash } from "node:crypto"
import { apiKeyFailures } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Metric } from "effect"
import { domainLayer } from "../support/domain.ts"
import { get, post, testServer } from "../support/server.ts"

const core = domainLayer([])
const PLAIN = "plain-key-0123456789abcdef"
const HASHED = "hashed-key-0123456789abcdef"
const configured = [PLAIN, `sha256:${createHash("sha256").update(HASHED).digest("hex")}`]

const withServer = <A, E>(body: Effect.Effect<A, E, any>) =>
  body.pipe(Effect.provide(testServer(core, {}, configured).pipe(Layer.provideMerge(core))), Effect.scoped)

const failures = Metric.value(apiKeyFailures).pipe(Effect.map((state) => Number(state.count)))

describe("API keys", () => {
  it.live("with API_KEYS set, /api/** needs a known bearer key; health, readiness and the webhook do not", () =>
    withServer(
      Effect.gen(function* () {
        const before = yield* failures
        for (const headers of [{}, { authorization: "Bearer wrong-key-0123456789" }, { authorization: "Basic abc" }]) {
          const answer = yield* get("/api/bg/u1", headers)
          assert.strictEqual(answer.status, 401)
          assert.strictEqual(answer.contentType, "application/problem+json")
          assert.strictEqual(answer.body.type, "urn:bg-ingest:problem:unauthorized")
        }
        assert.strictEqual((yield* get("/api/bg/u1/connections")).status, 401)
        assert.strictEqual((yield* post("/api/bg/u1/connections/simulator/sync")).status, 401)
        assert.strictEqual((yield* failures) - before, 5)

        assert.strictEqual((yield* get("/api/bg/u1", { authorization: `Bearer ${PLAIN}` })).status, 200)
        // A key configured only as its SHA-256 digest.
        assert.strictEqual((yield* get("/api/bg/u1", { authorization: `Bearer ${HASHED}` })).status, 200)
        // The digest itself is not a key.
        const digestAsKey = `sha256:${createHash("sha256").update(HASHED).digest("hex")}`
        assert.strictEqual((yield* get("/api/bg/u1", { authorization: `Bearer ${digestAsKey}` })).status, 401)

        assert.strictEqual((yield* get("/health")).status, 200)
        assert.strictEqual((yield* get("/ready")).status, 200)
        // The webhook answers for its signature, not for an API key.
        assert.strictEqual((yield* post("/api/bg/u1/webhook")).status, 401)
        assert.strictEqual((yield* post("/api/bg/u1/webhook")).body.type, "urn:bg-ingest:problem:invalid-signature")
      })
    )
  )
})
