import { Ingest, makeReading, makeWindow, ProviderId, summarize, TimeZoneName, UserId } from "@bg-ingest/domain"
import { toSummaryJson } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Deferred, Effect, Fiber, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { at } from "../support/glucoseSeries.ts"
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
 * A summary of a long window of one-minute data is the service's most expensive request: up to 129,600 readings
 * read, held and computed. One user asking for many must not hold the event loop or the memory of the process.
 */

const STEADY = UserId.make("steady")
const START = at("2025-01-01T00:00:00Z")
const TO = "2025-01-16T00:00:00Z"
// Fifteen days of one-minute readings: more than one bounded piece of work.
const readings = Array.from({ length: 15 * 1440 }, (_, index) =>
  makeReading({
    userId: STEADY,
    timestamp: DateTime.add(START, { minutes: index }),
    glucoseMgDl: Math.round(140 + 90 * Math.sin(index / 97) + 20 * Math.sin(index / 7)),
    source: { provider: ProviderId.make("test"), recordId: null }
  })
)

/** Readings asked of the store at once, at most: a piece of work that does not hold the event loop for long. */
const MOST_READINGS_PER_CALL = 10_000

const withServer = <A, E>(body: (observed: ObservedStore) => Effect.Effect<A, E, any>) =>
  Effect.gen(function* () {
    const observed = yield* makeObservedStore
    const core = domainLayer([], { readingStore: observedReadingStore(observed) })
    return yield* Effect.gen(function* () {
      yield* (yield* Ingest).ingest(STEADY, readings)
      return yield* body(observed)
    }).pipe(
      // A failed assertion must not leave requests waiting at the gate.
      Effect.ensuring(Deferred.succeed(observed.gate, undefined)),
      Effect.provide(testServer(core).pipe(Layer.provideMerge(core)))
    )
  }).pipe(Effect.scoped)

const WAITING = "bg_ingest_summaries_waiting"

const summaryOf = (user: string) => get(`/api/bg/${user}/summary?from=2025-01-01T00:00:00Z&to=${TO}`)

describe("summaries share the process fairly", () => {
  it.live("a long window is read from the store in bounded pieces, and summarized exactly as at once", () =>
    withServer((observed) =>
      Effect.gen(function* () {
        const answer = yield* get(`/api/bg/steady/summary?from=2025-01-01T00:00:00Z&to=${TO}&tz=Europe/Berlin`)
        assert.strictEqual(answer.status, 200)
        const window = makeWindow(START, at(TO))
        assert.deepStrictEqual(
          answer.body,
          toSummaryJson(summarize(readings, window, TimeZoneName.make("Europe/Berlin")))
        )
        assert.isAbove(observed.limits.length, 1)
        assert.isAtMost(Math.max(...observed.limits), MOST_READINGS_PER_CALL)
        const report = yield* get(`/api/bg/steady/report?from=2025-01-01T00:00:00Z&to=${TO}`)
        assert.strictEqual(report.status, 200)
        assert.isAtMost(Math.max(...observed.limits), MOST_READINGS_PER_CALL)
      })
    )
  )

  it.live("one user's summaries are computed one at a time, and at most two users' at once; the rest wait", () =>
    withServer((observed) =>
      Effect.gen(function* () {
        const first = yield* Effect.forkChild(summaryOf("gated-1"))
        yield* Deferred.await(arrivalLatch(observed, 1))
        // The same user again, while another turn is free: it waits for the user's first summary.
        const again = yield* Effect.forkChild(summaryOf("gated-1"))
        assert.strictEqual(yield* enteredOrWaited(observed, 2, WAITING, 1), "waited")
        // Another user takes the free turn.
        const second = yield* Effect.forkChild(summaryOf("gated-2"))
        yield* Deferred.await(arrivalLatch(observed, 2))
        // A third user finds both turns taken.
        const third = yield* Effect.forkChild(summaryOf("gated-3"))
        assert.strictEqual(yield* enteredOrWaited(observed, 3, WAITING, 2), "waited")
        yield* Deferred.succeed(observed.gate, undefined)
        const answers = yield* Effect.forEach([first, again, second, third], Fiber.join)
        assert.deepStrictEqual(
          answers.map((answer) => [answer.status, answer.body.readings]),
          [
            [200, 0],
            [200, 0],
            [200, 0],
            [200, 0]
          ]
        )
        assert.strictEqual(yield* gaugeValue(WAITING), 0)
      })
    )
  )
})
