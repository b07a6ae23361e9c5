import { EventPublishError, EventPublisher, type ReadingEvent } from "@bg-ingest/domain"
import { Context, Effect, Layer } from "effect"

/** What the in-memory publisher has published, and a switch to make it fail, for tests and development. */
export class InMemoryEventLog extends Context.Service<
  InMemoryEventLog,
  {
    /** Every confirmed event, oldest first (the newest `capacity` of them). */
    readonly events: Effect.Effect<ReadonlyArray<ReadingEvent>>
    /** The next `times` calls of `publish` fail as an unreachable broker would, publishing nothing. */
    readonly failNext: (times: number) => Effect.Effect<void>
    readonly clear: Effect.Effect<void>
  }
>()("@bg-ingest/adapters/memory/InMemoryEventLog") {}

const unavailable = () =>
  new EventPublishError({ reason: "unavailable", message: "The in-memory broker is set to fail" })

/**
 * An `EventPublisher` that keeps events in process memory: the development default (`EVENTS=memory`) and the
 * tests' publisher. It keeps the newest `capacity` events so a long-running development server stays bounded.
 */
export const makeInMemoryEventPublisher = (options?: { readonly capacity?: number }) =>
  Effect.sync(() => {
    const capacity = options?.capacity ?? 100_000
    // A ring of the newest `capacity` events: publishing is O(batch), never a shift of the whole log (which, once
    // full, moved 100,000 entries per batch of 288, bench/ingest.ts).
    let ring: Array<ReadingEvent> = []
    let next = 0
    let failures = 0
    const ordered = () => (ring.length < capacity ? ring.slice() : [...ring.slice(next), ...ring.slice(0, next)])

    const publisher = EventPublisher.of({
      publish: Effect.fn("InMemoryEventPublisher.publish")(function* (batch: ReadonlyArray<ReadingEvent>) {
        if (failures > 0) {
          failures -= 1
          return yield* unavailable()
        }
        for (const event of batch) {
          if (ring.length < capacity) ring.push(event)
          else {
            ring[next] = event
            next = (next + 1) % capacity
          }
        }
      }),
      ping: Effect.fn("InMemoryEventPublisher.ping")(function* () {
        if (failures > 0) return yield* unavailable()
      })()
    })

    const log = InMemoryEventLog.of({
      events: Effect.sync(ordered),
      failNext: (times) =>
        Effect.sync(() => {
          failures = times
        }),
      clear: Effect.sync(() => {
        ring = []
        next = 0
      })
    })
    return { publisher, log }
  })

export const InMemoryEventPublisher = {
  layer: (options?: { readonly capacity?: number }): Layer.Layer<EventPublisher | InMemoryEventLog> =>
    Layer.effectContext(
      Effect.map(makeInMemoryEventPublisher(options), ({ publisher, log }) =>
        Context.make(EventPublisher, publisher).pipe(Context.add(InMemoryEventLog, log))
      )
    )
} as const
