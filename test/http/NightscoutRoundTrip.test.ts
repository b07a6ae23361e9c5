import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { fiveMinutesAgo, openSite, storedReadings, upload } from "../support/nightscout.ts"
import { nightscoutServiceLayer } from "../support/nightscoutProvider.ts"
import { post, putJson, testServer } from "../support/server.ts"

const core = nightscoutServiceLayer()
const withServer = <A, E>(body: Effect.Effect<A, E, any>) =>
  body.pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped)

const directions = ["DoubleUp", "SingleUp", "FortyFiveUp", "Flat", "FortyFiveDown", "SingleDown", "DoubleDown", "NONE"]

describe("a user's Nightscout site, polled by the nightscout provider", () => {
  it.live("what is uploaded to one user's site arrives, reading for reading, at another user who polls it", () =>
    withServer(
      Effect.gen(function* () {
        const alice = yield* openSite("alice")
        const entries = Array.from({ length: 150 }, (_, index) => ({
          type: "sgv",
          sgv: 60 + ((index * 11) % 300),
          date: fiveMinutesAgo(150 - index) + 250,
          direction: directions[index % directions.length],
          device: "xDrip-LibreReceiver"
        }))
        assert.strictEqual((yield* upload("/ns/alice/api/v1/entries", entries, alice.secretHeader)).status, 200)
        const base = yield* HttpServer.addressFormattedWith((address) => Effect.succeed(address))
        const connected = yield* putJson("/api/bg/bob/connections/nightscout", {
          url: `${base}/ns/alice`,
          token: alice.readToken
        })
        assert.strictEqual(connected.status, 201, JSON.stringify(connected.body))
        const sync = yield* post("/api/bg/bob/connections/nightscout/sync")
        assert.strictEqual(sync.body.inserted, 150, JSON.stringify(sync.body))
        const sent = yield* storedReadings("alice")
        const received = yield* storedReadings("bob")
        assert.deepStrictEqual(
          received.map((r) => [
            DateTime.toEpochMillis(r.timestamp),
            r.glucoseMgDl,
            r.trend,
            r.status,
            r.source.provider
          ]),
          sent.map((r) => [DateTime.toEpochMillis(r.timestamp), r.glucoseMgDl, r.trend, r.status, "nightscout"])
        )
      })
    )
  )
})
