import { EventPublisher, ReadingStore } from "@bg-ingest/domain"
import { Effect } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { NotReady } from "../api/Problems.ts"

const check = <E>(probe: Effect.Effect<void, E>) =>
  probe.pipe(
    Effect.timeout("2 seconds"),
    Effect.as("ok" as const),
    Effect.catch(() => Effect.succeed("down" as const))
  )

/** Needs a `ReadingStore` and an `EventPublisher` (their `ping`s make readiness). */
export const SystemHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "system",
  Effect.fn(function* (handlers) {
    const store = yield* ReadingStore
    const publisher = yield* EventPublisher
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle(
        "ready",
        Effect.fnUntraced(function* () {
          const [storeCheck, brokerCheck] = yield* Effect.all([check(store.ping), check(publisher.ping)], {
            concurrency: 2
          })
          const checks = { store: storeCheck, broker: brokerCheck }
          if (storeCheck === "down" || brokerCheck === "down") {
            const down = Object.entries(checks)
              .filter(([, status]) => status === "down")
              .map(([name]) => name)
            return yield* new NotReady({ detail: `Unavailable: ${down.join(", ")}`, checks })
          }
          return { status: "ready" as const, checks }
        })
      )
  })
)
