import { createHash } from "node:crypto"
import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { seriesValue } from "../support/metrics.ts"
import { get, testServer } from "../support/server.ts"

const KEY = "operations-key-0123456789"
const core = () => domainLayer([])
const withServer = <A, E>(body: Effect.Effect<A, E, any>, apiKeys: ReadonlyArray<string> = []) => {
  const base = core()
  return body.pipe(Effect.provide(testServer(base, {}, apiKeys).pipe(Layer.provideMerge(base))), Effect.scoped)
}

const provider = ProviderId.make("test")
const readingAgo = (userId: string, minutes: number) =>
  Effect.map(DateTime.now, (now) =>
    makeReading({
      userId: UserId.make(userId),
      timestamp: DateTime.subtract(now, { minutes }),
      glucoseMgDl: 100,
      source: { provider, recordId: null }
    })
  )
const ingestAgo = (userId: string, minutes: number) =>
  Effect.flatMap(readingAgo(userId, minutes), (reading) =>
    Ingest.use((ingest) => ingest.ingest(reading.userId, [reading]))
  )

describe("answers carry no-store and nosniff; the docs page loads nothing from elsewhere", () => {
  it.live("every answer, success or problem, is not cached, not sniffed, not framed", () =>
    withServer(
      Effect.gen(function* () {
        yield* ingestAgo("u1", 3)
        for (const path of ["/api/bg/u1/latest", "/api/bg/u1", "/api/bg/nobody/latest", "/health", "/nowhere"]) {
          const answer = yield* get(path)
          assert.strictEqual(answer.headers["cache-control"], "no-store", path)
          assert.strictEqual(answer.headers["x-content-type-options"], "nosniff", path)
          assert.include(answer.headers["content-security-policy"], "frame-ancestors 'none'", path)
          assert.strictEqual(answer.headers["referrer-policy"], "no-referrer", path)
        }
      })
    )
  )

  it.live("/docs: inline scripts allowed by hash only, nothing to fetch from another host", () =>
    withServer(
      Effect.gen(function* () {
        const docs = yield* get("/docs")
        assert.strictEqual(docs.status, 200)
        const policy: string = docs.headers["content-security-policy"]!
        const directives = new Map(
          policy.split(";").map((directive) => {
            const [name, ...values] = directive.trim().split(/\s+/)
            return [name!, values] as const
          })
        )
        assert.deepStrictEqual(directives.get("default-src"), ["'none'"])
        assert.deepStrictEqual(directives.get("connect-src"), ["'self'"])
        assert.deepStrictEqual(directives.get("frame-ancestors"), ["'none'"])
        for (const directive of ["font-src", "img-src", "style-src"]) {
          assert.isTrue(
            directives.get(directive)!.every((source) => !/^https?:|^\*/.test(source)),
            `${directive} allows another host`
          )
        }
        const scripts = [...(docs.body as string).matchAll(/<script>([\s\S]*?)<\/script>/g)].map((match) => match[1]!)
        assert.strictEqual(scripts.length, 2)
        const hashes = scripts.map((script) => `'sha256-${createHash("sha256").update(script).digest("base64")}'`)
        assert.deepStrictEqual(directives.get("script-src"), hashes)
        // The page itself references nothing; what the scripts might try is what the policy above forbids.
        const page = (docs.body as string).replace(/<script>[\s\S]*?<\/script>/g, "<script></script>")
        assert.notMatch(page, /src=|href=|@import|url\(/i)
        assert.include(scripts[1], '"withDefaultFonts":false')
        assert.strictEqual(docs.headers["cache-control"], "no-store")
      })
    )
  )
})

describe("/metrics, /docs and /openapi.json need a key when API keys are configured", () => {
  it.live("401 without a key or with a wrong one; 200 with one", () =>
    withServer(
      Effect.gen(function* () {
        for (const path of ["/metrics", "/docs", "/openapi.json"]) {
          const none = yield* get(path)
          assert.strictEqual(none.status, 401, path)
          assert.strictEqual(none.contentType, "application/problem+json", path)
          assert.strictEqual(none.headers["www-authenticate"], "Bearer", path)
          assert.strictEqual((yield* get(path, { authorization: "Bearer not-the-key-0123456789" })).status, 401, path)
          assert.strictEqual((yield* get(path, { authorization: `Bearer ${KEY}` })).status, 200, path)
        }
      }),
      [KEY]
    )
  )
})

describe("/metrics has no series per user", () => {
  it.live("freshness is a count of stale users, and the series do not grow with users", () =>
    withServer(
      Effect.gen(function* () {
        yield* ingestAgo("fresh", 1)
        yield* ingestAgo("half-hour", 30)
        yield* ingestAgo("two-hours", 120)
        const first = (yield* get("/metrics")).body as string
        assert.notInclude(first, "user_id")
        const stale = (seconds: number) => seriesValue(first, `bg_ingest_stale_users{older_than_seconds="${seconds}"}`)
        assert.deepStrictEqual([stale(900), stale(3600), stale(10800), stale(86400)], [2, 1, 0, 0])
        assert.strictEqual(seriesValue(first, "bg_ingest_users_with_readings"), 3)

        for (let index = 0; index < 500; index++) yield* ingestAgo(`user-${index}`, 1)
        const after = (yield* get("/metrics")).body as string
        assert.notInclude(after, "user_id")
        assert.strictEqual(seriesValue(after, "bg_ingest_users_with_readings"), 503)
        const series = (text: string) =>
          text
            .split("\n")
            .filter((line) => line !== "" && !line.startsWith("#"))
            .map((line) => line.slice(0, line.lastIndexOf(" ")))
        // The same series (the request-duration histogram gained only the /metrics route's own series).
        const added = series(after).filter((name) => !series(first).includes(name))
        assert.isTrue(
          added.every((name) => name.includes('route="/metrics"')),
          added.join("\n")
        )
      })
    )
  )
})
