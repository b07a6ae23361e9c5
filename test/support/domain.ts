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
  type ConnectionStore,
  type EventPublisher,
  Ingest,
  NightscoutSites,
  type ReadingStore,
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

interface DomainSettings {
  readonly sync?: Partial<SyncSettingsShape>
  readonly scheduler?: Partial<SchedulerSettingsShape>
  readonly readingStore?: Layer.Layer<ReadingStore, unknown>
  readonly connectionStore?: Layer.Layer<ConnectionStore, unknown>
}

const assemble = <P>(
  providers: ReadonlyArray<CgmProviderShape>,
  settings: DomainSettings | undefined,
  publisher: Layer.Layer<P, unknown>
) =>
  Layer.mergeAll(Scheduler.layer, Connect.layer, nightscoutSitesInMemory).pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(
      Layer.mergeAll(
        settings?.readingStore ?? InMemoryReadingStore.layer,
        settings?.connectionStore ?? InMemoryConnectionStore.layer,
        InMemoryOAuthStateStore.layer,
        publisher,
        CgmProviders.layer(providers),
        testCrypto,
        Layer.succeed(SyncSettings, { ...testSyncSettings, ...settings?.sync }),
        Layer.succeed(SchedulerSettings, { ...testSchedulerSettings, ...settings?.scheduler })
      )
    )
  )

/**
 * The use cases on in-memory adapters (or the given `ReadingStore`), the in-memory event log and the given
 * providers, with every service exposed to the test.
 */
export const domainLayer = (providers: ReadonlyArray<CgmProviderShape>, settings?: DomainSettings) =>
  assemble(providers, settings, InMemoryEventPublisher.layer())

/** The same, publishing with the given `EventPublisher` (RabbitMQ, say). */
export const domainLayerPublishingTo = (
  providers: ReadonlyArray<CgmProviderShape>,
  publisher: Layer.Layer<EventPublisher, unknown>,
  settings?: DomainSettings
) => assemble(providers, settings, publisher)
