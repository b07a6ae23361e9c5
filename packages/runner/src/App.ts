import { createServer } from "node:http"
import { join } from "node:path"
import { InMemoryConnectionStore, InMemoryEventPublisher, InMemoryReadingStore } from "@bg-ingest/adapters/memory"
import { makeSimulatorProvider } from "@bg-ingest/adapters/simulator"
import { SqliteConnectionStore, SqliteDatabase, SqliteReadingStore } from "@bg-ingest/adapters/sqlite"
import {
  type CgmProviderShape,
  CgmProviders,
  type ConnectionStore,
  type EventPublisher,
  Ingest,
  type ReadingStore,
  Scheduler,
  SchedulerSettings,
  Sync,
  SyncSettings
} from "@bg-ingest/domain"
import { ApiRoutes, routerConfig } from "@bg-ingest/http/server"
import { NodeHttpServer } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import { HttpRouter } from "effect/http"
import type { AppConfig } from "./config/AppConfig.ts"
import { DemoUsers } from "./DemoUsers.ts"
import { StartupError } from "./StartupError.ts"

const failStartup = (message: string) => Layer.effectContext(Effect.fail(new StartupError({ message })))

/** The configured `ReadingStore` and `ConnectionStore`. */
export const storesLayer = (config: AppConfig): Layer.Layer<ReadingStore | ConnectionStore, StartupError> => {
  switch (config.store) {
    case "memory":
      return Layer.mergeAll(InMemoryReadingStore.layer, InMemoryConnectionStore.layer)
    case "sqlite":
      return Layer.mergeAll(SqliteReadingStore.layer, SqliteConnectionStore.layer).pipe(
        Layer.provide(SqliteDatabase.layer({ filename: join(config.dataDir, "bg-ingest.db") })),
        Layer.catchTag("SqliteOpenError", (error) => failStartup(error.message))
      )
    case "dynamodb":
      return failStartup("The DynamoDB store is not wired into this build yet")
  }
}

/** The configured `EventPublisher`. */
export const eventsLayer = (config: AppConfig): Layer.Layer<EventPublisher, StartupError> => {
  switch (config.events) {
    case "memory":
      return InMemoryEventPublisher.layer()
    case "rabbitmq":
      return failStartup("The RabbitMQ publisher is not wired into this build yet")
  }
}

/** The configured CGM providers. */
export const providersLayer = (config: AppConfig) => {
  const providers: Array<CgmProviderShape> = []
  for (const kind of config.providers) {
    if (kind === "simulator") providers.push(makeSimulatorProvider())
  }
  return CgmProviders.layer(providers)
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
      claimBatch: 500,
      syncTimeout: Duration.minutes(10),
      lease: Duration.minutes(15),
      republishBatch: 5000
    })
  )

/** The domain's use cases on the configured adapters. */
export const coreLayer = (config: AppConfig) =>
  Scheduler.layer.pipe(
    Layer.provideMerge(Sync.layer),
    Layer.provideMerge(Ingest.layer),
    Layer.provideMerge(
      Layer.mergeAll(storesLayer(config), eventsLayer(config), providersLayer(config), settingsLayer(config))
    )
  )

const PollingLayer = Layer.effectDiscard(Effect.forkScoped(Scheduler.use((scheduler) => scheduler.run)))

/** The whole service: the HTTP server and the poller on the configured adapters. The one composition root. */
export const appLayer = (config: AppConfig) => {
  // No router middleware, not even its access log: any middleware takes every request off the server's
  // single-frame path, ~7 µs of a ~40 µs `latest` (bench/http.ts). Handlers that change something log it.
  const http = HttpRouter.serve(ApiRoutes, { routerConfig, disableLogger: true }).pipe(
    Layer.provide(NodeHttpServer.layer(createServer, { port: config.port, host: config.host }))
  )
  return Layer.mergeAll(http, PollingLayer).pipe(
    Layer.provide(DemoUsers(config.demoUsers)),
    Layer.provide(coreLayer(config))
  )
}
