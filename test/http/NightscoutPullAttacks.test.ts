import { strictSitePolicy } from "@bg-ingest/adapters/nightscout"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { fakeNightscout } from "../fakes/FakeNightscoutSite.ts"
import { nightscoutSeries } from "../fakes/nightscoutEntries.ts"
import { nightscoutServiceLayer } from "../support/nightscoutProvider.ts"
import { get, post, putJson, testServer } from "../support/server.ts"

const TOKEN = "reader-0123456789abcdef"

/**
 * A site is the user's, so it may answer anything within the limits of one answer: here every entry of a day carries
 * a 4 kB field no reader needs (10 MB for the day, in pages each well under the limit of one answer). Without a
 * bound on a day's entries, one sync held all of it (50 pages could be 800 MB) while it ran.
 */
const bloatedSite = Effect.gen(function* () {
  const fake = yield* fakeNightscout({ readTokens: [TOKEN], defaultRole: "denied" })
  const start = Math.floor((Date.now() - 20 * 3_600_000) / 30_000) * 30_000
  const series = nightscoutSeries({ start, count: 2_500, cadenceSeconds: 30 })
  fake.addEntries(series.entries.map((entry) => ({ ...entry, padding: "x".repeat(4096) })))
  return fake
})

describe("the nightscout provider bounds what one site's day may take", () => {
  it.live("a day of entries larger than the bound fails the sync, saying why, and stores nothing", () => {
    const core = nightscoutServiceLayer()
    return Effect.gen(function* () {
      const fake = yield* bloatedSite
      const put = yield* putJson("/api/bg/alice/connections/nightscout", { url: fake.url, token: TOKEN })
      assert.strictEqual(put.status, 201, JSON.stringify(put.body))
      const sync = yield* post("/api/bg/alice/connections/nightscout/sync")
      assert.notStrictEqual(sync.status, 200, JSON.stringify(sync.body))
      assert.strictEqual(sync.contentType, "application/problem+json")
      assert.match(sync.body.detail, /bytes/)
      const stored = yield* get("/api/bg/alice?limit=10")
      assert.deepStrictEqual(stored.body, [])
    }).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped)
  })
})

describe("the nightscout provider calls only public addresses outside development", () => {
  it.live(
    "IPv6 forms that are not global unicast, or that stand for an IPv4 address, are refused before any call",
    () => {
      const core = nightscoutServiceLayer({ policy: strictSitePolicy })
      return Effect.gen(function* () {
        for (const url of [
          // IPv4-translated (SIIT, RFC 2765): a translator on the way delivers it to 127.0.0.1 / 10.0.0.8.
          "https://[::ffff:0:127.0.0.1]/",
          "https://[::ffff:0:10.0.0.8]/",
          // Outside global unicast, and the IPv6 documentation prefix (RFC 9637).
          "https://[5f00::1]/",
          "https://[3fff::1]/"
        ]) {
          const answer = yield* putJson("/api/bg/alice/connections/nightscout", { url, token: TOKEN })
          assert.deepStrictEqual([answer.status, answer.body.reason], [400, "address"], url)
        }
      }).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped)
    }
  )
})
