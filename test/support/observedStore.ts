import { InMemoryReadingStore } from "@bg-ingest/adapters/memory"
import { ReadingStore } from "@bg-ingest/domain"
import { Deferred, Effect, Layer } from "effect"
import { seriesValue } from "./metrics.ts"
import { get } from "./server.ts"

/** What the service asked of an observed `ReadingStore`, and a gate that holds some of its reads. */
export interface ObservedStore {
  /** The `limit` of every `range` call. */
  readonly limits: Array<number>
  /** How many readings every `putMany` call was given. */
  readonly batches: Array<number>
  /** `range` calls of gated users (ids starting with `gated-`) so far. */
  arrivals: number
  readonly arrived: Map<number, Deferred.Deferred<void>>
  /** Opens every gated `range` call. */
  readonly gate: Deferred.Deferred<void>
}

export const makeObservedStore = Effect.map(
  Deferred.make<void>(),
  (gate): ObservedStore => ({ limits: [], batches: [], arrivals: 0, arrived: new Map(), gate })
)

/** Done when the `count`th gated `range` call has come in. */
export const arrivalLatch = (observed: ObservedStore, count: number) => {
  let latch = observed.arrived.get(count)
  if (latch === undefined) {
    latch = Deferred.makeUnsafe<void>()
    observed.arrived.set(count, latch)
  }
  return latch
}

/** The in-memory store, observed: users named `gated-…` wait in `range` until the gate opens. */
export const observedReadingStore = (observed: ObservedStore) =>
  Layer.effect(
    ReadingStore,
    Effect.gen(function* () {
      const inner = yield* ReadingStore
      return ReadingStore.of({
        ...inner,
        putMany: (readings) => {
          observed.batches.push(readings.length)
          return inner.putMany(readings)
        },
        range: (userId, window, limit, order) =>
          Effect.gen(function* () {
            observed.limits.push(limit)
            if (userId.startsWith("gated-")) {
              observed.arrivals += 1
              Deferred.doneUnsafe(arrivalLatch(observed, observed.arrivals), Effect.void)
              yield* Deferred.await(observed.gate)
            }
            return yield* inner.range(userId, window, limit, order)
          })
      })
    })
  ).pipe(Layer.provide(InMemoryReadingStore.layer))

/** A gauge of the service's `/metrics`. */
export const gaugeValue = (series: string) =>
  Effect.map(get("/metrics"), (answer) => seriesValue(String(answer.body), series))

/**
 * Which comes first: the `count`th gated `range` call, or the gauge `series` (requests waiting their turn) reaching
 * `waiting`. A request that takes no turn enters; one that waits for its turn is counted.
 */
export const enteredOrWaited = (observed: ObservedStore, count: number, series: string, waiting: number) =>
  Effect.race(
    Effect.as(Deferred.await(arrivalLatch(observed, count)), "entered" as const),
    Effect.gen(function* () {
      while ((yield* gaugeValue(series)) !== waiting) yield* Effect.sleep("20 millis")
      return "waited" as const
    })
  )
