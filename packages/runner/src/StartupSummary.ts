import { Effect, Layer } from "effect"
import type { AppConfig } from "./config/AppConfig.ts"

/** What the service chose at start-up, and why, in a few lines a person reads once. */
export const startupSummary = (config: AppConfig) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      yield* Effect.logInfo(
        `bg-ingest (${config.appEnv}) on http://${config.host === "0.0.0.0" ? "localhost" : config.host}:${config.port}` +
          ` · store ${config.store} · events ${config.events} · providers ${config.providers.join(", ") || "none"}`
      )
      for (const note of config.notes) yield* Effect.logInfo(`Development default: ${note}`)
      for (const warning of config.warnings) yield* Effect.logWarning(warning)
      if (config.store === "sqlite") yield* Effect.logInfo(`SQLite database: ${config.dataDir}/bg-ingest.db`)
      if (config.store === "dynamodb") {
        const { table, endpoint, region } = config.dynamodb
        yield* Effect.logInfo(`DynamoDB table ${table} at ${endpoint ?? `AWS ${region ?? "(default region)"}`}`)
      }
      if (config.rabbitmq !== null) {
        yield* Effect.logInfo(
          `RabbitMQ exchange ${config.rabbitmq.exchange} (unroutable events: ${config.rabbitmq.unroutable})`
        )
      }
    })
  )
