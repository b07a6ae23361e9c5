import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { openSite, type SiteCredentials, storedReadings, upload } from "../support/nightscout.ts"
import { get, testServer } from "../support/server.ts"

const core = domainLayer([])
const withSite = <A, E>(body: (site: SiteCredentials) => Effect.Effect<A, E, any>) =>
  Effect.flatMap(openSite("alice"), body).pipe(
    Effect.provide(testServer(core).pipe(Layer.provideMerge(core))),
    Effect.scoped
  )

describe("attacks on a user's Nightscout site", () => {
  it.live("a two-digit-year time is that year (before 1970: refused), never read as 19xx", () =>
    withSite((site) =>
      Effect.gen(function* () {
        for (const field of ["dateString", "sysTime"]) {
          const answer = yield* upload(
            "/ns/alice/api/v1/entries",
            [{ type: "sgv", sgv: 120, [field]: "0080-06-01T12:00:00Z" }],
            site.secretHeader
          )
          assert.strictEqual(answer.status, 400, JSON.stringify(answer.body))
          assert.deepStrictEqual(answer.body.errors[0].path, [0, field])
        }
        assert.deepStrictEqual(yield* storedReadings("alice"), [])
        // A reading of 1985, and a bound in the year 99: the bound is before it, not 1999.
        const stored = yield* upload(
          "/ns/alice/api/v1/entries",
          [{ type: "sgv", sgv: 120, date: Date.UTC(1985, 0, 1) }],
          site.secretHeader
        )
        assert.strictEqual(stored.status, 200)
        const before99 = yield* get(
          `/ns/alice/api/v1/entries.json?token=${site.readToken}&find[dateString][$lte]=0099-12-31T00:00:00Z`
        )
        assert.deepStrictEqual(before99.body, [])
      })
    )
  )
})
