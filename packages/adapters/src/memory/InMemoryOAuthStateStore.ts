import { OAuthStateStore, type PendingAuthorization } from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import { syncMethods } from "../spans/PortMethods.ts"

/** Expired entries are kept this long, so that a late callback is told "expired" rather than "unknown". */
const EXPIRED_STATE_RETENTION_MILLIS = 60 * 60 * 1000

/** Pending authorizations in process memory: for tests and `STORE=memory` (one replica, lost on restart). */
export const makeInMemoryOAuthStateStore = Effect.sync(() => {
  const method = syncMethods("InMemoryOAuthStateStore")
  const pending = new Map<string, PendingAuthorization>()

  return OAuthStateStore.of({
    put: method("put", (entry) => {
      const horizon = DateTime.toEpochMillis(entry.createdAt) - EXPIRED_STATE_RETENTION_MILLIS
      for (const [hash, existing] of pending) {
        if (DateTime.toEpochMillis(existing.expiresAt) < horizon) pending.delete(hash)
      }
      pending.set(entry.stateHash, entry)
    }),
    consume: method("consume", (stateHash) => {
      const found = pending.get(stateHash)
      pending.delete(stateHash)
      return Option.fromUndefinedOr(found)
    })
  })
})

export const InMemoryOAuthStateStore = {
  layer: Layer.effect(OAuthStateStore, makeInMemoryOAuthStateStore)
} as const
