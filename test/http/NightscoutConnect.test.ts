import { strictSitePolicy } from "@bg-ingest/adapters/nightscout"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { fakeNightscout } from "../fakes/FakeNightscoutSite.ts"
import { nightscoutSeries } from "../fakes/nightscoutEntries.ts"
import { nightscoutServiceLayer } from "../support/nightscoutProvider.ts"
import { get, post, putJson, testServer } from "../support/server.ts"

const TOKEN = "reader-0123456789abcdef"
const SECRET = "site-api-secret-123"

const withServer = <A, E>(body: Effect.Effect<A, E, any>, strict = false) => {
  const core = nightscoutServiceLayer(strict ? { policy: strictSitePolicy } : {})
  return body.pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped)
}

const site = Effect.gen(function* () {
  const fake = yield* fakeNightscout({ apiSecret: SECRET, readTokens: [TOKEN], defaultRole: "denied" })
  const start = Math.floor((Date.now() - 20 * 3_600_000) / 300_000) * 300_000
  const series = nightscoutSeries({ start, count: 200, errorCodeEvery: 17 })
  fake.addEntries(series.entries)
  return { fake, expected: series.expected }
})

const isProblem = (answer: { status: number; contentType: string }, status: number) => {
  assert.strictEqual(answer.status, status)
  assert.strictEqual(answer.contentType, "application/problem+json")
}

describe("PUT /api/bg/:userId/connections/nightscout", () => {
  it.live("a URL and a read token connect the site (201); a sync stores its readings; a read link works too", () =>
    withServer(
      Effect.gen(function* () {
        const { fake, expected } = yield* site
        const put = yield* putJson("/api/bg/alice/connections/nightscout", { url: fake.url, token: TOKEN })
        assert.strictEqual(put.status, 201, JSON.stringify(put.body))
        assert.deepStrictEqual([put.body.provider, put.body.status], ["nightscout", "active"])
        assert.notInclude(JSON.stringify(put.body), TOKEN)
        const sync = yield* post("/api/bg/alice/connections/nightscout/sync")
        assert.strictEqual(sync.status, 200, JSON.stringify(sync.body))
        assert.strictEqual(sync.body.inserted, expected.length)
        const latest = yield* get("/api/bg/alice/latest")
        const newest = expected.at(-1)!
        assert.deepStrictEqual(
          [latest.body.timestamp, latest.body.glucose_mg_dl, latest.body.source],
          [new Date(newest.epochSeconds * 1000).toISOString().replace(".000", ""), newest.glucoseMgDl, "nightscout"]
        )
        // A read link carries its token; connecting again replaces the credential (200).
        const link = yield* putJson("/api/bg/alice/connections/nightscout", { url: `${fake.url}/?token=${TOKEN}` })
        assert.strictEqual(link.status, 200, JSON.stringify(link.body))
        const secret = yield* putJson("/api/bg/bob/connections/nightscout", { url: fake.url, api_secret: SECRET })
        assert.strictEqual(secret.status, 201, JSON.stringify(secret.body))
      })
    )
  )

  it.live("bodies that are not a site access are 400 problems naming the field, never echoing the secret", () =>
    withServer(
      Effect.gen(function* () {
        const { fake } = yield* site
        const refused = (body: unknown) =>
          Effect.map(putJson("/api/bg/alice/connections/nightscout", body), (answer) => {
            isProblem(answer, 400)
            assert.notInclude(JSON.stringify(answer.body), SECRET)
            return answer.body.errors.map((error: { path: ReadonlyArray<string> }) => error.path.join("."))
          })
        assert.include(yield* refused({ url: fake.url, token: TOKEN, api_secret: SECRET }), "payload.api_secret")
        assert.include(yield* refused({ url: fake.url }), "payload.token")
        assert.include(yield* refused({ url: "not a url", token: TOKEN }), "payload.url")
        assert.include(yield* refused({ url: `http://user:${SECRET}@127.0.0.1/`, token: TOKEN }), "payload.url")
        assert.include(yield* refused({ url: "file:///etc/passwd", token: TOKEN }), "payload.url")
        assert.include(yield* refused({ url: fake.url, api_secret: "short" }), "payload.api_secret")
        assert.deepStrictEqual(fake.requests, [])
      })
    )
  )

  it.live("what the site says: a wrong token, a redirect, no Nightscout there; nothing is stored", () =>
    withServer(
      Effect.gen(function* () {
        const { fake } = yield* site
        const wrong = yield* putJson("/api/bg/alice/connections/nightscout", {
          url: fake.url,
          token: "wrong-0123456789abcdef"
        })
        isProblem(wrong, 400)
        assert.strictEqual(wrong.body.reason, "invalid_credentials")
        fake.inject({ kind: "status", status: 302, headers: { location: "https://moved.example.org/" } })
        const moved = yield* putJson("/api/bg/alice/connections/nightscout", { url: fake.url, token: TOKEN })
        isProblem(moved, 400)
        assert.deepStrictEqual([moved.body.type, moved.body.reason], ["urn:bg-ingest:problem:site-refused", "redirect"])
        assert.include(moved.body.detail, "https://moved.example.org")
        const elsewhere = yield* putJson("/api/bg/alice/connections/nightscout", {
          url: `${fake.url}/not-here`,
          token: TOKEN
        })
        assert.deepStrictEqual([elsewhere.status, elsewhere.body.reason], [400, "not_a_site"])
        assert.deepStrictEqual((yield* get("/api/bg/alice/connections")).body, [])
      })
    )
  )

  it.live("outside development the service refuses plain http and loopback sites before calling them", () =>
    withServer(
      Effect.gen(function* () {
        const { fake } = yield* site
        const http = yield* putJson("/api/bg/alice/connections/nightscout", { url: fake.url, token: TOKEN })
        assert.deepStrictEqual([http.status, http.body.reason], [400, "scheme"])
        for (const url of [
          fake.url.replace("http:", "https:"),
          "https://localhost/",
          "https://169.254.169.254/",
          "https://[::ffff:127.0.0.1]/",
          "https://10.0.0.8/"
        ]) {
          const answer = yield* putJson("/api/bg/alice/connections/nightscout", { url, token: TOKEN })
          assert.deepStrictEqual([answer.status, answer.body.reason], [400, "address"], url)
        }
        assert.deepStrictEqual(fake.requests, [])
      }),
      true
    )
  )

  it.live("a username and password are not how nightscout connects, and a site is not how other providers do", () =>
    withServer(
      Effect.gen(function* () {
        const credentials = yield* putJson("/api/bg/alice/connections/nightscout", {
          username: "someone",
          password: "a password"
        })
        isProblem(credentials, 400)
        assert.strictEqual(credentials.body.type, "urn:bg-ingest:problem:provider-takes-no-credentials")
        assert.match(credentials.body.detail, /site/)
        const unknown = yield* putJson("/api/bg/alice/connections/dexcom-share", {
          url: "https://x.example",
          token: TOKEN
        })
        isProblem(unknown, 404)
      })
    )
  )
})
