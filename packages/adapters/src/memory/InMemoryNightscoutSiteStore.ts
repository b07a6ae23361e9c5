import { type NightscoutRole, type NightscoutSite, NightscoutSiteStore, type UserId } from "@bg-ingest/domain"
import { Effect, Layer, Option } from "effect"
import { syncMethods } from "../spans/PortMethods.ts"

/** Nightscout site credentials in process memory: for tests and `STORE=memory` (one replica, lost on restart). */
export const makeInMemoryNightscoutSiteStore = Effect.sync(() => {
  const method = syncMethods("InMemoryNightscoutSiteStore")
  const sites = new Map<UserId, NightscoutSite>()
  const byHash = new Map<string, { readonly userId: UserId; readonly role: NightscoutRole }>()

  const forget = (site: NightscoutSite) => {
    byHash.delete(site.secretHash)
    byHash.delete(site.tokenHash)
  }

  return NightscoutSiteStore.of({
    save: method("save", ({ userId, secretHash, tokenHash, at }) => {
      const previous = sites.get(userId)
      if (previous !== undefined) forget(previous)
      sites.set(userId, { userId, secretHash, tokenHash, createdAt: previous?.createdAt ?? at, updatedAt: at })
      byHash.set(secretHash, { userId, role: "uploader" })
      byHash.set(tokenHash, { userId, role: "follower" })
      return { created: previous === undefined }
    }),
    get: method("get", (userId) => Option.fromUndefinedOr(sites.get(userId))),
    find: method("find", (hash) => Option.fromUndefinedOr(byHash.get(hash))),
    remove: method("remove", (userId) => {
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
