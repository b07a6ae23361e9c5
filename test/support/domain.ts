import {
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryNightscoutSiteStore,
  InMemoryOAuthStateStore,
  InMemoryReadingStore
} from "@bg-ingest/adapters/memory"
import {
  type CgmProviderShape,
  CgmProviders,
  Connect,
  Ingest,
  NightscoutSites,
  Scheduler,
  SchedulerSettings,
  type SchedulerSettingsShape,
  Sync,
  SyncSettings,
  type SyncSettingsShape
} from "@bg-ingest/domain"
import { Duration, Layer } from "effect"
import { testCrypto } from "./crypto.ts"

export const testSyncSettings: SyncSettingsShape = {
  pollInterval: Duration.minutes(15),
  pollJitterRatio: 0.1,
  failureBackoffBase: Duration.seconds(30),
  failureBackoffMax: Duration.hours(1)
}

export const testSchedulerSettings: SchedulerSettingsShape = {
  tick: Duration.seconds(5),
  concurrency: 2,
  claimBatch: 100,
  syncTimeout: Duration.minutes(2),
  lease: Duration.minutes(5),
  republishBatch: 1000
}

/** Every user's Nightscout site, on an in-memory credential store. */
export const nightscoutSitesInMemory = NightscoutSites.layer.pipe(Layer.provideMerge(InMemoryNightscoutSiteStore.layer))

/** The use cases on in-memory adapters and the given providers, with every service exposed to the test. */
export const domainLayer = (
  providers: ReadonlyArray<CgmProviderShape>,
  settings?: { readonly sync?: Partial<SyncSettingsShape>; readonly scheduler?: Partial<SchedulerSettingsShape> }
) =>
  Layer.mergeAll(Scheduler.layer, Connect.layer, nightscoutSitesInMemory).pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        InMemoryReadingStore.layer,
        InMemoryConnectionStore.layer,
        InMemoryOAuthStateStore.layer,
        InMemoryEventPublisher.layer(),
        CgmProviders.layer(providers),
        testCrypto,
        Layer.succeed(SyncSettings, { ...testSyncSettings, ...settings?.sync }),
        Layer.succeed(SchedulerSettings, { ...testSchedulerSettings, ...settings?.scheduler })
      )
    )
  )
