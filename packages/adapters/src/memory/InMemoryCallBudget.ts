import { CallBudget } from "@bg-ingest/domain"
import { DateTime, Effect, Layer } from "effect"
import { syncMethods } from "../spans/PortMethods.ts"

/** A `CallBudget` in process memory: for tests and `STORE=memory` (one process, so shared by nothing else). */
export const makeInMemoryCallBudget = Effect.sync(() => {
  const method = syncMethods("InMemoryCallBudget")
  /** Calls counted per key and window start; windows that ended are forgotten as new ones begin. */
  const counts = new Map<string, { readonly end: number; calls: number }>()

  return CallBudget.of({
    take: method("take", ({ key, window, limit, calls }) => {
      const start = DateTime.toEpochMillis(window.from)
      for (const [slot, count] of counts) if (count.end <= start) counts.delete(slot)
      const slot = `${key}\u0000${start}`
      const count = counts.get(slot) ?? { end: DateTime.toEpochMillis(window.to), calls: 0 }
      if (count.calls + calls > limit) return false
      count.calls += calls
      counts.set(slot, count)
      return true
    })
  })
})

export const InMemoryCallBudget = {
  layer: Layer.effect(CallBudget, makeInMemoryCallBudget)
} as const
