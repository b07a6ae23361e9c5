import { type NightscoutRole, type NightscoutSite, NightscoutSiteStore, type UserId } from "@bg-ingest/domain"
import { Effect, Layer, Option } from "effect"

/** Nightscout site credentials in process memory: for tests and `STORE=memory` (one replica, lost on restart). */
export const makeInMemoryNightscoutSiteStore = Effect.sync(() => {
  const sites = new Map<UserId, NightscoutSite>()
  const byHash = new Map<string, { readonly userId: UserId; readonly role: NightscoutRole }>()

  const forget = (site: NightscoutSite) => {
    byHash.delete(site.secretHash)
    byHash.delete(site.tokenHash)
  }

  return NightscoutSiteStore.of({
    save: ({ userId, secretHash, tokenHash, at }) =>
      Effect.sync(() => {
        const previous = sites.get(userId)
        if (previous !== undefined) forget(previous)
        sites.set(userId, { userId, secretHash, tokenHash, createdAt: previous?.createdAt ?? at, updatedAt: at })
        byHash.set(secretHash, { userId, role: "uploader" })
        byHash.set(tokenHash, { userId, role: "follower" })
        return { created: previous === undefined }
      }),
    get: (userId) => Effect.sync(() => Option.fromUndefinedOr(sites.get(userId))),
    find: (hash) => Effect.sync(() => Option.fromUndefinedOr(byHash.get(hash))),
    remove: (userId) =>
      Effect.sync(() => {
        const site = sites.get(userId)
        if (site === undefined) return false
        forget(site)
        sites.delete(userId)
        return true
      })
  })
})

export const InMemoryNightscoutSiteStore = {
  layer: Layer.effect(NightscoutSiteStore, makeInMemoryNightscoutSiteStore)
} as const
