import { join } from "node:path"
import { loadTokenEncryptionKey, TokenCipher } from "@bg-ingest/adapters/crypto"
import { dexcomWebhookFormat } from "@bg-ingest/adapters/dexcom"
import {
  InMemoryCallBudget,
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryNightscoutSiteStore,
  InMemoryOAuthStateStore,
  InMemoryReadingStore
} from "@bg-ingest/adapters/memory"
import {
  SqliteCallBudget,
  SqliteConnectionStore,
  SqliteDatabase,
  SqliteNightscoutSiteStore,
  SqliteOAuthStateStore,
  SqliteReadingStore
} from "@bg-ingest/adapters/sqlite"
import {
  type CallBudget,
  CgmProviders,
  Connect,
  type ConnectionStore,
  ConnectSettings,
  type EventPublisher,
  Ingest,
  type NightscoutSiteStore,
  NightscoutSites,
  type OAuthStateStore,
  type ReadingStore,
  Scheduler,
  SchedulerSettings,
  Sync,
  SyncSettings
} from "@bg-ingest/domain"
import { ApiKeys, ApiRoutes, BodyLimit, HotReads, routerConfig, ServerPolicy } from "@bg-ingest/http/server"
import { Deferred, Duration, Effect, Fiber, Layer } from "effect"
import { FetchHttpClient, HttpRouter } from "effect/http"
import { type CryptoServices, cryptoLayer } from "./Crypto.ts"
import type { AppConfig } from "./config/AppConfig.ts"
import { makeProviders } from "./config/Providers.ts"
import { DemoUsers } from "./DemoUsers.ts"
import { observedHttpServer } from "./RequestObservability.ts"
import { StartupError } from "./StartupError.ts"
import { webhookConfigLayer } from "./WebhookSecrets.ts"

const failStartup = (message: string) => Layer.effectContext(Effect.fail(new StartupError({ message })))

/**
 * The configured `ReadingStore`, `ConnectionStore`, `OAuthStateStore`, `NightscoutSiteStore` and the providers'
 * `CallBudget` (in the store, so that replicas sharing it share the budget).
 */
export const storesLayer = (
  config: AppConfig
): Layer.Layer<ReadingStore | ConnectionStore | OAuthStateStore | NightscoutSiteStore | CallBudget, StartupError> => {
  switch (config.store) {
    case "memory":
      return Layer.mergeAll(
        InMemoryReadingStore.layer,
        InMemoryConnectionStore.layer,
        InMemoryOAuthStateStore.layer,
        InMemoryNightscoutSiteStore.layer,
        InMemoryCallBudget.layer
      )
    case "sqlite":
      return Layer.mergeAll(
        SqliteReadingStore.layer,
        SqliteConnectionStore.layer,
        SqliteOAuthStateStore.layer,
        SqliteNightscoutSiteStore.layer,
        SqliteCallBudget.layer
      ).pipe(
        Layer.provide(SqliteDatabase.layer({ filename: join(config.dataDir, "bg-ingest.db") })),
        Layer.catchTag("SqliteOpenError", (error) => failStartup(error.message))
      )
    case "dynamodb":
      // Loaded only when configured: the AWS SDK is a fifth of the modules a start would otherwise load.
      return Layer.unwrap(
        Effect.map(
          Effect.promise(() => import("@bg-ingest/adapters/dynamodb")),
          ({ DynamoStores }) => DynamoStores.layer(config.dynamodb)
        )
      ).pipe(Layer.catchTag("DynamoDbSetupError", (error) => failStartup(error.message)))
  }
}

/** The configured `EventPublisher`. */
export const eventsLayer = (config: AppConfig): Layer.Layer<EventPublisher, StartupError> => {
  switch (config.events) {
    case "memory":
      return InMemoryEventPublisher.layer()
    case "rabbitmq": {
      const rabbitmq = config.rabbitmq
      if (rabbitmq === null) return failStartup("RABBITMQ_URL is required when EVENTS=rabbitmq")
      // Loaded only when configured, as the DynamoDB adapter is.
      return Layer.unwrap(
        Effect.map(
          Effect.promise(() => import("@bg-ingest/adapters/rabbitmq")),
          ({ RabbitMqEventPublisher }) =>
            RabbitMqEventPublisher.layer({
              ...rabbitmq,
              // Releasing the publisher waits for outstanding confirms; it runs after the server and the poller stopped.
              shutdownTimeout: Duration.times(config.shutdownTimeout, 0.15)
            })
        )
      ).pipe(Layer.catchTag("BrokerConnectError", (error) => failStartup(error.message)))
    }
  }
}

/** The cipher of provider tokens, on `TOKEN_ENCRYPTION_KEY` (or development's generated key). */
export const tokenCipherLayer = (config: AppConfig): Layer.Layer<TokenCipher, StartupError, CryptoServices> =>
  Layer.unwrap(
    loadTokenEncryptionKey({ key: config.tokenEncryptionKey, appEnv: config.appEnv, dataDir: config.dataDir }).pipe(
      Effect.map(TokenCipher.layer),
      Effect.mapError((error) => new StartupError({ message: error.message }))
    )
  )

/**
 * The configured CGM providers, each made from its settings as the registry says. Those that keep users'
 * credentials keep them in the `ConnectionStore`, sealed by the `TokenCipher`, and call out through `fetch`.
 */
export const providersLayer = (
  config: AppConfig
): Layer.Layer<CgmProviders, StartupError, ConnectionStore | ReadingStore | CallBudget | CryptoServices> => {
  const { plain, keepsCredentials, keeping } = makeProviders(config.providers, config.providerSettings)
  if (!keepsCredentials) return Layer.effect(CgmProviders, Effect.map(plain, CgmProviders.fromProviders))
  return Layer.effect(
    CgmProviders,
    Effect.map(Effect.all([plain, keeping]), ([made, keepers]) => CgmProviders.fromProviders([...made, ...keepers]))
  ).pipe(Layer.provide(Layer.mergeAll(tokenCipherLayer(config), FetchHttpClient.layer)))
}

/**
 * How long a publication keeps its owed events from other replicas' sweeps: four times the broker's confirm
 * timeout (which bounds a wait without progress, not a whole publish), and at least two minutes.
 */
const publishClaimOf = (config: AppConfig): Duration.Duration => {
  const confirmTimeout =
    config.rabbitmq?.confirmTimeout === undefined
      ? Duration.seconds(30)
      : Duration.fromInputUnsafe(config.rabbitmq.confirmTimeout)
  return Duration.max(Duration.minutes(2), Duration.times(confirmTimeout, 4))
}

export const settingsLayer = (config: AppConfig) =>
  Layer.mergeAll(
    Layer.succeed(SyncSettings, {
      pollInterval: config.pollInterval,
      pollJitterRatio: 0.1,
      failureBackoffBase: Duration.seconds(30),
      failureBackoffMax: Duration.hours(1)
    }),
    Layer.succeed(SchedulerSettings, {
      tick: config.schedulerTick,
      concurrency: config.schedulerConcurrency,
      // A claim takes what the replica starts soon, not a large share of what is due: replicas split the work
      // evenly, and a replica killed holding claims strands at most this many connections until their leases end.
      claimBatch: config.schedulerConcurrency * 8,
      syncTimeout: config.syncTimeout,
      lease: config.schedulerLease,
      republishBatch: 5000,
      publishClaim: publishClaimOf(config)
    }),
    Layer.succeed(ConnectSettings, {
      backfill: Duration.days(config.backfillDays),
      authorizationTtl: Duration.minutes(10)
    })
  )

/** The domain's use cases on the configured adapters, and the crypto they (and the HTTP handlers) run on. */
export const coreLayer = (config: AppConfig) =>
  Layer.mergeAll(Scheduler.layer, Connect.layer, NightscoutSites.layer).pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(providersLayer(config)),
    Layer.provideMerge(Layer.mergeAll(storesLayer(config), eventsLayer(config), settingsLayer(config), cryptoLayer))
  )

/**
 * The poller. On shutdown it claims nothing more and gives the syncs in flight up to `grace` to finish (their
 * events confirmed, cursors saved); what is still running then is interrupted, which is safe: it is redone.
 */
export const pollingLayer = (grace: Duration.Duration) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const scheduler = yield* Scheduler
      const stop = yield* Deferred.make<void>()
      const poller = yield* Effect.forkScoped(scheduler.runUntil(stop))
      yield* Effect.addFinalizer(() =>
        Effect.gen(function* () {
          yield* Deferred.succeed(stop, undefined)
          const finished = yield* Fiber.await(poller).pipe(Effect.timeoutOption(grace))
          if (finished._tag === "None") yield* Effect.logWarning("Shutdown: syncs still running were interrupted")
        })
      )
    })
  )

/** The whole service: the HTTP server and the poller on the configured adapters. The one composition root. */
export const appLayer = (config: AppConfig) => {
  // The shutdown budget: 40 % each for in-flight requests and in-flight syncs, 15 % for the broker's last
  // confirms (eventsLayer), so that even one after the other they end within SHUTDOWN_TIMEOUT_SECONDS.
  const grace = Duration.times(config.shutdownTimeout, 0.4)
  const http = HttpRouter.serve(ApiRoutes, { routerConfig, disableLogger: true }).pipe(
    Layer.provide(
      observedHttpServer({ port: config.port, host: config.host, gracefulShutdownTimeout: grace }).pipe(
        // latest and range answered at the server's edge when plainly valid (HotReads), the rest by the router
        Layer.provide(HotReads.layer)
      )
    ),
    Layer.provide(BodyLimit)
  )
  return Layer.mergeAll(http, pollingLayer(grace)).pipe(
    Layer.provide(DemoUsers(config.demoUsers)),
    Layer.provide(webhookConfigLayer(config, [dexcomWebhookFormat])),
    Layer.provide(ApiKeys.layer(config.apiKeys)),
    Layer.provide(Layer.succeed(ServerPolicy, { secureCookies: config.appEnv !== "development" })),
    Layer.provide(coreLayer(config))
  )
}
