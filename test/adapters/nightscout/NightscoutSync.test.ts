import { strictSitePolicy } from "@bg-ingest/adapters/nightscout"
import { Connect, ConnectionStore, makeWindow, ProviderId, ReadingStore, Sync, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { type FakeNightscout, fakeNightscout } from "../../fakes/FakeNightscoutSite.ts"
import { type ExpectedNightscoutReading, nightscoutSeries } from "../../fakes/nightscoutEntries.ts"
import { nightscoutServiceLayer, secretAccess, tokenAccess } from "../../support/nightscoutProvider.ts"

const alice = UserId.make("alice")
const NIGHTSCOUT = ProviderId.make("nightscout")
const TOKEN = "reader-0123456789abcdef"
const SECRET = "site-api-secret-123"

const stored = ReadingStore.use((store) =>
  store.range(alice, makeWindow(DateTime.makeUnsafe(0), DateTime.makeUnsafe(Date.UTC(2100, 0))), 50_000)
)
const plainReadings = Effect.map(stored, (readings) =>
  readings.map(
    (r): Record<keyof ExpectedNightscoutReading, string | number> => ({
      epochSeconds: DateTime.toEpochMillis(r.timestamp) / 1000,
      glucoseMgDl: r.glucoseMgDl,
      trend: r.trend,
      status: r.status,
      recordId: r.source.recordId!
    })
  )
)
const connection = Effect.map(
  ConnectionStore.use((connections) => connections.get(alice, NIGHTSCOUT)),
  Option.getOrThrow
)

/** A fake site under `/nightscout` with a day and a half of entries (quirks included) ending 10 minutes ago. */
const siteWithData = Effect.gen(function* () {
  const fake = yield* fakeNightscout({
    apiSecret: SECRET,
    readTokens: [TOKEN],
    basePath: "/nightscout",
    defaultRole: "denied"
  })
  const start = Math.floor((Date.now() - 36 * 3_600_000) / 300_000) * 300_000
  const series = nightscoutSeries({
    start,
    count: 430,
    errorCodeEvery: 13,
    mbgEvery: 6,
    duplicateEvery: 10,
    stringValueEvery: 9
  })
  fake.addEntries(series.entries)
  return { fake, expected: series.expected }
})

const byTime = (a: ExpectedNightscoutReading, b: ExpectedNightscoutReading) => a.epochSeconds - b.epochSeconds

const withService = <A, E>(body: Effect.Effect<A, E, any>, policy?: typeof strictSitePolicy) =>
  body.pipe(Effect.provide(nightscoutServiceLayer(policy === undefined ? {} : { policy })), Effect.scoped)

const connectWith = (fake: FakeNightscout, access = tokenAccess(`${fake.url}/`, TOKEN)) =>
  Connect.use((connect) => connect.connectToSite(alice, "nightscout", access))

describe("the nightscout provider through the domain, on a fake site", () => {
  it.live(
    "connect with a read token, backfill in pages, and store exactly the site's readings; again adds nothing",
    () =>
      withService(
        Effect.gen(function* () {
          const { fake, expected } = yield* siteWithData
          const { created } = yield* connectWith(fake)
          assert.isTrue(created)
          const result = yield* Sync.use((sync) => sync.sync(alice, "nightscout"))
          assert.deepStrictEqual(yield* plainReadings, [...expected].sort(byTime))
          assert.strictEqual(result.inserted, expected.length)
          // Two-day backfill, a day per window, pages of 100: more reads than windows.
          assert.isAbove(fake.entryReads, result.windows)
          assert.isTrue(fake.requests.every((request) => request.credential === "token"))
          const again = yield* Sync.use((sync) => sync.sync(alice, "nightscout"))
          assert.deepStrictEqual([again.inserted, again.updated], [0, 0])
          assert.strictEqual((yield* connection).status, "active")
        })
      )
  )

  it.live("connect with the API secret: sent as its SHA-1, never stored readable; a late entry is picked up", () =>
    withService(
      Effect.gen(function* () {
        const { fake, expected } = yield* siteWithData
        yield* connectWith(fake, secretAccess(fake.url, SECRET))
        yield* Sync.use((sync) => sync.sync(alice, "nightscout"))
        assert.strictEqual((yield* stored).length, expected.length)
        assert.isTrue(fake.requests.every((request) => request.credential === "header"))
        const sealed = (yield* connection).credentials!
        assert.notInclude(sealed, SECRET)
        assert.notInclude(sealed, fake.url)
        // A phone back online uploads a reading from 6 hours ago: the next poll reaches back a day and finds it.
        const late = Math.floor((Date.now() - 6 * 3_600_000) / 1000) * 1000 + 60_000 + 17
        fake.addEntries([{ _id: "65bbbbbbbbbbbbbbbbbbbbbb", type: "sgv", sgv: 188, date: late, direction: "Flat" }])
        const next = yield* Sync.use((sync) => sync.sync(alice, "nightscout"))
        assert.strictEqual(next.inserted, 1)
        const found = (yield* stored).find((r) => DateTime.toEpochMillis(r.timestamp) === late - 17)
        assert.deepStrictEqual([found?.glucoseMgDl, found?.source.recordId], [188, "65bbbbbbbbbbbbbbbbbbbbbb"])
      })
    )
  )

  it.live("what a site holds that is no reading is counted, not stored, and does not stop the rest", () =>
    withService(
      Effect.gen(function* () {
        const { fake, expected } = yield* siteWithData
        const at = Math.floor((Date.now() - 3_600_000) / 1000) * 1000 + 7_000
        fake.addEntries([
          { _id: "65cccccccccccccccccccc01", type: "sgv", sgv: 900, date: at },
          { _id: "65cccccccccccccccccccc02", type: "sgv", sgv: 120, date: Date.now() + 3_600_000 },
          { _id: "65cccccccccccccccccccc03", type: "sgv", sgv: "HIGH", date: at + 1000 },
          { _id: "65cccccccccccccccccccc04", type: "sgv", sgv: 120, date: "yesterday" }
        ])
        yield* connectWith(fake)
        const result = yield* Sync.use((sync) => sync.sync(alice, "nightscout"))
        assert.strictEqual(result.inserted, expected.length)
        assert.isAtLeast(result.rejected, 1)
        assert.isAtLeast(result.skippedWithoutValue, 1)
      })
    )
  )

  it.live("connecting refuses a wrong token, a redirect, something that is not Nightscout; nothing is stored", () =>
    withService(
      Effect.gen(function* () {
        const { fake } = yield* siteWithData
        const refusal = (access = tokenAccess(fake.url, TOKEN)) =>
          Effect.flip(connectWith(fake, access)).pipe(
            Effect.map((error) => `${error._tag}:${"reason" in error ? error.reason : ""}`)
          )
        assert.strictEqual(
          yield* refusal(tokenAccess(fake.url, "wrong-0123456789abcdef")),
          "CredentialsRejected:invalid_credentials"
        )
        fake.inject({ kind: "status", status: 302, headers: { location: "https://elsewhere.example.org/" } })
        assert.strictEqual(yield* refusal(), "SiteRefused:redirect")
        fake.inject({ kind: "status", status: 404, body: "Not Found" }, { times: 2 })
        assert.strictEqual(yield* refusal(), "SiteRefused:not_a_site")
        fake.inject({ kind: "status", status: 200, body: "<html>hello</html>" })
        assert.strictEqual(yield* refusal(), "SiteRefused:not_a_site")
        assert.strictEqual(yield* refusal(tokenAccess("http://no-such-host.invalid/", TOKEN)), "SiteRefused:not_a_site")
        fake.inject({ kind: "status", status: 503 })
        assert.strictEqual(yield* refusal(), "ProviderUnavailable:")
        assert.isTrue(Option.isNone(yield* ConnectionStore.use((connections) => connections.get(alice, NIGHTSCOUT))))
        // A site too old for verifyauth is checked with one entries read.
        fake.inject({ kind: "status", status: 404, body: "Cannot GET" }, { path: "/api/v1/verifyauth" })
        assert.isTrue((yield* connectWith(fake)).created)
      })
    )
  )

  it.live("a readable site still refuses a wrong credential: verifyauth's UNAUTHORIZED is a refusal", () =>
    withService(
      Effect.gen(function* () {
        const fake = yield* fakeNightscout({ readTokens: [TOKEN], defaultRole: "readable" })
        const error = yield* Effect.flip(connectWith(fake, tokenAccess(fake.url, "wrong-0123456789abcdef")))
        assert.strictEqual(error._tag, "CredentialsRejected")
      })
    )
  )

  it.live("strict (production) refuses the loopback site without calling it", () =>
    withService(
      Effect.gen(function* () {
        const { fake } = yield* siteWithData
        const error = yield* Effect.flip(connectWith(fake))
        assert.deepStrictEqual([error._tag, "reason" in error ? error.reason : ""], ["SiteRefused", "scheme"])
        const https = yield* Effect.flip(connectWith(fake, tokenAccess(fake.url.replace("http:", "https:"), TOKEN)))
        assert.deepStrictEqual([https._tag, "reason" in https ? https.reason : ""], ["SiteRefused", "address"])
        assert.deepStrictEqual(fake.requests, [])
      }),
      strictSitePolicy
    )
  )

  it.live(
    "while polling: a revoked token needs the user; a 429 waits; a 503 backs off; a new redirect needs the user",
    () =>
      withService(
        Effect.gen(function* () {
          const { fake } = yield* siteWithData
          yield* connectWith(fake)
          yield* Sync.use((sync) => sync.sync(alice, "nightscout"))
          const failure = (inject: () => void) =>
            Effect.gen(function* () {
              yield* ConnectionStore.use((connections) =>
                connections.update(alice, NIGHTSCOUT, { status: "active", nextPollAt: DateTime.nowUnsafe() })
              )
              inject()
              const error = yield* Effect.flip(Sync.use((sync) => sync.sync(alice, "nightscout")))
              return [error._tag, (yield* connection).status]
            })
          assert.deepStrictEqual(
            yield* failure(() => fake.inject({ kind: "status", status: 429, headers: { "retry-after": "120" } })),
            ["RateLimited", "rate_limited"]
          )
          assert.deepStrictEqual(yield* failure(() => fake.inject({ kind: "status", status: 503 })), [
            "ProviderUnavailable",
            "error"
          ])
          assert.deepStrictEqual(yield* failure(() => fake.inject({ kind: "reset" })), ["ProviderUnavailable", "error"])
          assert.deepStrictEqual(
            yield* failure(() =>
              fake.inject({ kind: "status", status: 301, headers: { location: "https://x.example/" } })
            ),
            ["NeedsReauthorization", "needs_reauthorization"]
          )
          assert.deepStrictEqual(yield* failure(() => fake.revokeToken(TOKEN)), [
            "NeedsReauthorization",
            "needs_reauthorization"
          ])
          assert.match((yield* connection).lastError ?? "", /refused the credential/)
        })
      )
  )
})
