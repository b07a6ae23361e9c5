import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Deferred, Effect, Fiber, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { openSite, type SiteCredentials } from "../support/nightscout.ts"
import {
  arrivalLatch,
  enteredOrWaited,
  gaugeValue,
  makeObservedStore,
  type ObservedStore,
  observedReadingStore
} from "../support/observedStore.ts"
import { get, testServer } from "../support/server.ts"

/**
 * `count=0` on a Nightscout site asks for up to 50,000 entries: read at once and answered at once, one took the
 * event loop for about half a second and some 30 MB, and a read token (shared with family, embedded in watch faces)
 * could ask for as many at once as it liked.
 */

const STEADY = UserId.make("steady")
const MINUTES = 15 * 1440
const start = Math.floor(Date.now() / 60_000) * 60_000 - MINUTES * 60_000
// Fifteen days of one-minute readings, ending before now.
const readings = Array.from({ length: MINUTES }, (_, index) =>
  makeReading({
    userId: STEADY,
    timestamp: DateTime.makeUnsafe(start + index * 60_000),
    glucoseMgDl: 80 + (index % 200),
    source: { provider: ProviderId.make("test"), recordId: null }
  })
)

const MOST_READINGS_PER_CALL = 10_000
const WAITING = "bg_ingest_nightscout_reads_waiting"

const withSites = <A, E>(
  body: (observed: ObservedStore, sites: Record<string, SiteCredentials>) => Effect.Effect<A, E, any>
) =>
  Effect.gen(function* () {
    const observed = yield* makeObservedStore
    const core = domainLayer([], { readingStore: observedReadingStore(observed) })
    return yield* Effect.gen(function* () {
      yield* (yield* Ingest).ingest(STEADY, readings)
      const sites: Record<string, SiteCredentials> = {}
      for (const user of ["steady", "gated-1", "gated-2", "gated-3"]) sites[user] = yield* openSite(user)
      return yield* body(observed, sites)
    }).pipe(
      Effect.ensuring(Deferred.succeed(observed.gate, undefined)),
      Effect.provide(testServer(core).pipe(Layer.provideMerge(core)))
    )
  }).pipe(Effect.scoped)

const everything = (user: string, sites: Record<string, SiteCredentials>) =>
  get(`/ns/${user}/api/v1/entries.json?token=${sites[user]!.readToken}&count=0&find[date][$gte]=0`)

describe("long reads of a Nightscout site share the process", () => {
  it.live("count=0 is read from the store in bounded pieces, newest first, exactly as at once", () =>
    withSites((observed, sites) =>
      Effect.gen(function* () {
        const answer = yield* everything("steady", sites)
        assert.strictEqual(answer.status, 200)
        assert.deepStrictEqual(
          answer.body.map((entry: { date: number; sgv: number }) => [entry.date, entry.sgv]),
          readings.map((reading) => [DateTime.toEpochMillis(reading.timestamp), reading.glucoseMgDl]).reverse()
        )
        assert.isAbove(observed.limits.length, 1)
        assert.isAtMost(Math.max(...observed.limits), MOST_READINGS_PER_CALL)
      })
    )
  )

  it.live("long reads take turns (one per site, two at once); a follower's ordinary read never waits", () =>
    withSites((observed, sites) =>
      Effect.gen(function* () {
        const first = yield* Effect.forkChild(everything("gated-1", sites))
        yield* Deferred.await(arrivalLatch(observed, 1))
        const again = yield* Effect.forkChild(everything("gated-1", sites))
        assert.strictEqual(yield* enteredOrWaited(observed, 2, WAITING, 1), "waited")
        const second = yield* Effect.forkChild(everything("gated-2", sites))
        yield* Deferred.await(arrivalLatch(observed, 2))
        const third = yield* Effect.forkChild(everything("gated-3", sites))
        assert.strictEqual(yield* enteredOrWaited(observed, 3, WAITING, 2), "waited")
        // While every turn is taken, what followers and uploaders read every few minutes is answered.
        const current = yield* get(`/ns/steady/api/v1/entries/current.json?token=${sites.steady!.readToken}`)
        assert.strictEqual(current.status, 200)
        assert.strictEqual(current.body[0].date, DateTime.toEpochMillis(readings.at(-1)!.timestamp))
        const day = yield* get(`/ns/steady/api/v1/entries/sgv.json?token=${sites.steady!.readToken}&count=288`)
        assert.strictEqual(day.body.length, 288)
        yield* Deferred.succeed(observed.gate, undefined)
        const answers = yield* Effect.forEach([first, again, second, third], Fiber.join)
        assert.deepStrictEqual(
          answers.map((answer) => [answer.status, answer.body]),
          answers.map(() => [200, []])
        )
        assert.strictEqual(yield* gaugeValue(WAITING), 0)
      })
    )
  )
})
