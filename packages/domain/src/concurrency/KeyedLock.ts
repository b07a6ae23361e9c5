import { Effect, Semaphore } from "effect"

/** Mutual exclusion per key, holding memory only for keys in use. */
export const makeKeyedLock = () => {
  const held = new Map<string, { readonly semaphore: Semaphore.Semaphore; users: number }>()
  return <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.acquireUseRelease(
      Effect.sync(() => {
        let entry = held.get(key)
        if (entry === undefined) {
          entry = { semaphore: Semaphore.makeUnsafe(1), users: 0 }
          held.set(key, entry)
        }
        entry.users += 1
        return entry
      }),
      (entry) => Semaphore.withPermit(entry.semaphore)(effect),
      (entry) =>
        Effect.sync(() => {
          entry.users -= 1
          if (entry.users === 0) held.delete(key)
        })
    )
}
