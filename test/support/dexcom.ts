import {
  DEXCOM_PROVIDER_ID,
  DexcomProvider,
  type DexcomSettings,
  InMemoryCallBudget,
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryOAuthStateStore,
  InMemoryReadingStore,
  makeDexcomProvider,
  makeDexcomSettings,
  makeSimulatorProvider,
  TokenCipher
} from "@bg-ingest/adapters"
import {
  CgmProvider,
  type CgmProviderShape,
  CgmProviders,
  Connect,
  ConnectionStore,
  Ingest,
  Scheduler,
  SchedulerSettings,
  Sync,
  SyncSettings,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import type { FakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { testCrypto } from "./crypto.ts"
import { nightscoutSitesInMemory, testSchedulerSettings, testSyncSettings } from "./domain.ts"

/** A fixed test key (never used outside tests). */
export const TEST_TOKEN_KEY = Redacted.make(Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256))

/** The token cipher on the test key, on the service's crypto. */
export const testTokenCipher = TokenCipher.layer(TEST_TOKEN_KEY).pipe(Layer.provide(testCrypto))

export const TEST_REDIRECT_URI = "http://127.0.0.1:5001/api/connections/dexcom/callback"

/** Settings pointing at the fake, with short retry delays so that live tests stay fast. */
export const dexcomTestSettings = (fake: FakeDexcom, overrides: Partial<DexcomSettings> = {}): DexcomSettings =>
  makeDexcomSettings({
    clientId: fake.clientId,
    clientSecret: Redacted.make(fake.clientSecret),
    redirectUri: TEST_REDIRECT_URI,
    baseUrl: fake.url,
    retryBaseDelay: Duration.millis(5),
    requestTimeout: Duration.seconds(5),
    ...overrides
  })

/** The Dexcom provider on the fake, with an in-memory connection store and the test key. */
export const dexcomProviderLayer = (fake: FakeDexcom, overrides: Partial<DexcomSettings> = {}) =>
  DexcomProvider.layer(dexcomTestSettings(fake, overrides)).pipe(
    Layer.provideMerge(
      Layer.mergeAll(InMemoryConnectionStore.layer, InMemoryCallBudget.layer, testTokenCipher, FetchHttpClient.layer)
    )
  )

/**
 * Connects `userId` to the fake's `username` the way a browser would (consent page, code exchange) and stores
 * the connection, without the `Connect` use case: for tests of the provider alone.
 */
export const connectDirectly = Effect.fnUntraced(function* (fake: FakeDexcom, userId: UserId, username: string) {
  const provider = yield* CgmProvider
  const connections = yield* ConnectionStore
  const redirect = yield* Effect.promise(() =>
    fake.consent(provider.authorization!.consentUrl("test-state"), { username })
  )
  const credentials = yield* provider.authorization!.exchangeCode(userId, redirect.searchParams.get("code")!)
  const now = yield* DateTime.now
  yield* connections.upsert({
    userId,
    provider: DEXCOM_PROVIDER_ID,
    status: "active",
    credentials,
    backfillFrom: DateTime.subtract(now, { days: 90 }),
    syncedThrough: null,
    lastSyncAt: null,
    lastReadingAt: null,
    changesSince: null,
    lastError: null,
    nextPollAt: now,
    consecutiveFailures: 0,
    createdAt: now,
    updatedAt: now
  })
})

/** Epoch milliseconds rounded down to a whole 5 minutes. */
export const alignedFiveMinutes = (millis: number) => Math.floor(millis / 300_000) * 300_000

/**
 * The domain's use cases (Connect, Sync, Scheduler) with the Dexcom provider on the fake and the simulator, on
 * in-memory stores and publisher; every service is exposed to the test.
 */
export const dexcomServiceLayer = (
  fake: FakeDexcom,
  options: {
    readonly settings?: Partial<DexcomSettings>
    readonly extraProviders?: ReadonlyArray<CgmProviderShape>
  } = {}
) => {
  const base = Layer.mergeAll(
    InMemoryReadingStore.layer,
    InMemoryConnectionStore.layer,
    InMemoryCallBudget.layer,
    InMemoryEventPublisher.layer(),
    InMemoryOAuthStateStore.layer,
    testTokenCipher,
    testCrypto,
    Layer.succeed(SyncSettings, testSyncSettings),
    Layer.succeed(SchedulerSettings, testSchedulerSettings)
  )
  // The Dexcom client's HttpClient is provided to the provider only, so that it never stands in for a test's own.
  const providers = Layer.effect(
    CgmProviders,
    Effect.map(makeDexcomProvider(dexcomTestSettings(fake, options.settings)), (dexcom) =>
      CgmProviders.fromProviders([dexcom, makeSimulatorProvider(), ...(options.extraProviders ?? [])])
    )
  ).pipe(Layer.provide(FetchHttpClient.layer))
  return Layer.mergeAll(Connect.layer, Scheduler.layer, nightscoutSitesInMemory).pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(providers),
    Layer.provideMerge(base)
  )
}
