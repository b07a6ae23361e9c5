import {
  DEXCOM_SHARE_PROVIDER_ID,
  DexcomShareProvider,
  type DexcomShareSettings,
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryOAuthStateStore,
  InMemoryReadingStore,
  makeDexcomShareProvider,
  makeDexcomShareSettings,
  makeSimulatorProvider
} from "@bg-ingest/adapters"
import {
  type CgmProviderShape,
  CgmProviders,
  Connect,
  ConnectionStore,
  Ingest,
  newConnection,
  Scheduler,
  SchedulerSettings,
  Sync,
  SyncSettings,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import type { FakeShare } from "../fakes/FakeShareServer.ts"
import { testCrypto } from "./crypto.ts"
import { testTokenCipher } from "./dexcom.ts"
import { nightscoutSitesInMemory, testSchedulerSettings, testSyncSettings } from "./domain.ts"

/** Settings pointing at the fake as the US region, with short retry delays so that live tests stay fast. */
export const shareTestSettings = (fake: FakeShare, overrides: Partial<DexcomShareSettings> = {}): DexcomShareSettings =>
  makeDexcomShareSettings({
    region: "us",
    baseUrl: fake.url,
    retryBaseDelay: Duration.millis(5),
    requestTimeout: Duration.seconds(5),
    ...overrides
  })

/** The Share provider on the fake, with an in-memory connection store and the test key. */
export const shareProviderLayer = (fake: FakeShare, overrides: Partial<DexcomShareSettings> = {}) =>
  DexcomShareProvider.layer(shareTestSettings(fake, overrides)).pipe(
    Layer.provideMerge(
      Layer.mergeAll(InMemoryConnectionStore.layer, testTokenCipher, FetchHttpClient.layer, testCrypto)
    )
  )

/** Verifies the credentials with one login and stores an active connection holding them, without `Connect`. */
export const storeShareConnection = Effect.fnUntraced(function* (
  provider: CgmProviderShape,
  userId: UserId,
  username: string,
  password: string
) {
  const connections = yield* ConnectionStore
  const credentials = yield* provider.credentialsLogin!.verify(userId, { username, password: Redacted.make(password) })
  const now = yield* DateTime.now
  yield* connections.upsert(
    newConnection({
      userId,
      provider: DEXCOM_SHARE_PROVIDER_ID,
      credentials,
      backfillFrom: DateTime.subtract(now, { hours: 24 }),
      now
    })
  )
})

/**
 * The domain's use cases (Connect, Sync, Scheduler) with the Share provider on the fake and the simulator, on
 * in-memory stores and publisher (or the stores given); every service is exposed to the test.
 */
export const shareServiceLayer = (
  fake: FakeShare,
  options: {
    readonly settings?: Partial<DexcomShareSettings>
    readonly stores?: Layer.Layer<any, any>
  } = {}
) => {
  const base = Layer.mergeAll(
    options.stores ?? Layer.mergeAll(InMemoryReadingStore.layer, InMemoryConnectionStore.layer),
    InMemoryEventPublisher.layer(),
    InMemoryOAuthStateStore.layer,
    testTokenCipher,
    testCrypto,
    Layer.succeed(SyncSettings, testSyncSettings),
    Layer.succeed(SchedulerSettings, testSchedulerSettings)
  )
  // The Share client's HttpClient is provided to the provider only, so that it never stands in for a test's own.
  const providers = Layer.effect(
    CgmProviders,
    Effect.map(makeDexcomShareProvider(shareTestSettings(fake, options.settings)), (share) =>
      CgmProviders.fromProviders([share, makeSimulatorProvider()])
    )
  ).pipe(Layer.provide(FetchHttpClient.layer))
  return Layer.mergeAll(Connect.layer, Scheduler.layer, nightscoutSitesInMemory).pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(providers),
    Layer.provideMerge(base)
  )
}

/** Connects `userId` through the `Connect` use case, as the HTTP endpoint does. */
export const connectShare = (userId: UserId, username: string, password: string) =>
  Connect.use((connect) =>
    connect.connectWithCredentials(userId, "dexcom-share", { username, password: Redacted.make(password) })
  )
