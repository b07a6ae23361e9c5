import { Layer, Logger, References } from "effect"
import type { AppConfig } from "./config/AppConfig.ts"

/** Pretty logs for people in development, one JSON object per line for machines elsewhere. */
export const loggingLayer = (config: Pick<AppConfig, "logFormat" | "logLevel">) =>
  Layer.mergeAll(
    Logger.layer([config.logFormat === "json" ? Logger.consoleJson : Logger.consolePretty()]),
    Layer.succeed(References.MinimumLogLevel, config.logLevel)
  )
