import {
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryOAuthStateStore,
  InMemoryReadingStore,
  LIBRE_LINK_UP_PROVIDER_ID,
  LibreLinkUpProvider,
  type LibreLinkUpSettings,
  makeLibreLinkUpProvider,
  makeLibreLinkUpSettings,
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
import { Clock, DateTime, Duration, Effect, Layer, Redacted } from "effect"
import { FetchHttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import type { FakeLibreLinkUp } from "../fakes/FakeLibreLinkUpServer.ts"
import { testCrypto } from "./crypto.ts"
import { testTokenCipher } from "./dexcom.ts"
import { nightscoutSitesInMemory, testSchedulerSettings, testSyncSettings } from "./domain.ts"

/** Settings pointing at the fake's global entry point, with short retry delays so that live tests stay fast. */
export const libreTestSettings = (
  fake: FakeLibreLinkUp,
  overrides: Partial<LibreLinkUpSettings> = {}
): LibreLinkUpSettings =>
  makeLibreLinkUpSettings({
    baseUrl: fake.url,
    allowAnyHost: true,
    retryBaseDelay: Duration.millis(5),
    requestTimeout: Duration.seconds(5),
    ...overrides
  })

/** The LibreLinkUp provider on the fake, with in-memory stores and the test key. */
export const libreProviderLayer = (fake: FakeLibreLinkUp, overrides: Partial<LibreLinkUpSettings> = {}) =>
  LibreLinkUpProvider.layer(libreTestSettings(fake, overrides)).pipe(
    Layer.provideMerge(
      Layer.mergeAll(
        InMemoryConnectionStore.layer,
        InMemoryReadingStore.layer,
        testTokenCipher,
        FetchHttpClient.layer,
        testCrypto
      )
    )
  )

/** Verifies the credentials with one login and stores an active connection holding them, without `Connect`. */
export const storeLibreConnection = Effect.fnUntraced(function* (
  provider: CgmProviderShape,
  userId: UserId,
  username: string,
  password: string,
  patientId?: string
) {
  const connections = yield* ConnectionStore
  const credentials = yield* provider.credentialsLogin!.verify(userId, {
    username,
    password: Redacted.make(password),
    patientId
  })
  const now = yield* DateTime.now
  yield* connections.upsert(
    newConnection({
      userId,
      provider: LIBRE_LINK_UP_PROVIDER_ID,
      credentials,
      backfillFrom: DateTime.subtract(now, { hours: 12 }),
      now
    })
  )
})

/**
 * The domain's use cases (Connect, Sync, Scheduler) with the LibreLinkUp provider on the fake and the simulator, on
 * in-memory stores and publisher (or the stores given); every service is exposed to the test.
 */
export const libreServiceLayer = (
  fake: FakeLibreLinkUp,
  options: {
    readonly settings?: Partial<LibreLinkUpSettings>
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
  // The provider's HttpClient is provided to the provider only, so that it never stands in for a test's own.
  const providers = Layer.effect(
    CgmProviders,
    Effect.map(makeLibreLinkUpProvider(libreTestSettings(fake, options.settings)), (libre) =>
      CgmProviders.fromProviders([libre, makeSimulatorProvider()])
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
export const connectLibre = (userId: UserId, username: string, password: string, patientId?: string) =>
  Connect.use((connect) =>
    connect.connectWithCredentials(userId, "libre-link-up", {
      username,
      password: Redacted.make(password),
      patientId
    })
  )

/**
 * One clock for the test and the fake: the `TestClock`, which the fake reads through `now`. `start` sets both;
 * `advance` moves both.
 */
export const sharedClock = (startMillis: number) => {
  let millis = startMillis
  return {
    now: () => millis,
    start: Effect.gen(function* () {
      yield* TestClock.setTime(startMillis)
      millis = yield* Clock.currentTimeMillis
    }),
    advance: (duration: Duration.Input) =>
      Effect.gen(function* () {
        yield* TestClock.adjust(duration)
        millis = yield* Clock.currentTimeMillis
      })
  }
}
