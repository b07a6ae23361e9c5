import {
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryOAuthStateStore,
  InMemoryReadingStore
} from "@bg-ingest/adapters/memory"
import {
  developmentSitePolicy,
  makeNightscoutProvider,
  makeNightscoutSettings,
  NIGHTSCOUT_PROVIDER_ID,
  NightscoutProvider,
  type NightscoutSettings
} from "@bg-ingest/adapters/nightscout"
import {
  type CgmProviderShape,
  CgmProviders,
  Connect,
  ConnectionStore,
  Ingest,
  newConnection,
  Scheduler,
  SchedulerSettings,
  type SiteAccess,
  Sync,
  SyncSettings,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { testCrypto } from "./crypto.ts"
import { testTokenCipher } from "./dexcom.ts"
import { nightscoutSitesInMemory, testSchedulerSettings, testSyncSettings } from "./domain.ts"

/** Settings for a fake site on loopback: development's policy, short timeouts, small pages (so paging happens). */
export const nightscoutTestSettings = (overrides: Partial<NightscoutSettings> = {}) =>
  makeNightscoutSettings({ policy: developmentSitePolicy, pageSize: 100, ...overrides })

/** The provider with an in-memory `ConnectionStore` and the test cipher, both exposed to the test. */
export const nightscoutProviderLayer = (overrides: Partial<NightscoutSettings> = {}) =>
  NightscoutProvider.layer(nightscoutTestSettings(overrides)).pipe(
    Layer.provideMerge(Layer.mergeAll(InMemoryConnectionStore.layer, testTokenCipher, testCrypto))
  )

export const tokenAccess = (url: string, token: string): SiteAccess => ({
  url,
  credential: { kind: "token", value: Redacted.make(token) }
})

export const secretAccess = (url: string, secret: string): SiteAccess => ({
  url,
  credential: { kind: "api_secret", value: Redacted.make(secret) }
})

/** Verifies the site with one call and stores an active connection holding it, without `Connect`. */
export const storeSiteConnection = Effect.fnUntraced(function* (
  provider: CgmProviderShape,
  userId: UserId,
  access: SiteAccess,
  backfillDays = 2
) {
  const connections = yield* ConnectionStore
  const credentials = yield* provider.siteLogin!.verify(userId, access)
  const now = yield* DateTime.now
  yield* connections.upsert(
    newConnection({
      userId,
      provider: NIGHTSCOUT_PROVIDER_ID,
      credentials,
      backfillFrom: DateTime.subtract(now, { days: backfillDays }),
      now
    })
  )
})

/**
 * The domain's use cases (Connect, Sync, Scheduler) with the nightscout provider (and every user's own site), on
 * in-memory stores and publisher; every service is exposed to the test.
 */
export const nightscoutServiceLayer = (overrides: Partial<NightscoutSettings> = {}) => {
  const base = Layer.mergeAll(
    InMemoryReadingStore.layer,
    InMemoryConnectionStore.layer,
    InMemoryEventPublisher.layer(),
    InMemoryOAuthStateStore.layer,
    testTokenCipher,
    testCrypto,
    Layer.succeed(SyncSettings, testSyncSettings),
    Layer.succeed(SchedulerSettings, testSchedulerSettings)
  )
  const providers = Layer.effect(
    CgmProviders,
    Effect.map(makeNightscoutProvider(nightscoutTestSettings(overrides)), (nightscout) =>
      CgmProviders.fromProviders([nightscout])
    )
  )
  return Layer.mergeAll(Connect.layer, Scheduler.layer, nightscoutSitesInMemory).pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(providers),
    Layer.provideMerge(base)
  )
}
