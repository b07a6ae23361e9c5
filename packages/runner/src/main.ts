// Each module by its own path: the package's index also loads Redis, sockets and the rest (1,400+ modules).
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Duration, Effect, Exit, Layer, Runtime } from "effect"
import { appLayer } from "./App.ts"
import { loadConfiguration, localVariables } from "./config/LoadConfiguration.ts"
import { loggingLayer } from "./Logging.ts"
import { startupSummary } from "./StartupSummary.ts"
import { tracingLayer } from "./Tracing.ts"

const loaded = await Effect.runPromiseExit(
  localVariables(process.cwd()).pipe(Effect.flatMap(loadConfiguration), Effect.provide(NodeFileSystem.layer))
)
if (Exit.isFailure(loaded)) {
  const error = Cause.squash(loaded.cause)
  console.error(`bg-ingest cannot start. ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
const config = loaded.value

/** A start-up failure as one readable line: what failed, not a stack trace. */
const describeFailure = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (error instanceof Error) {
    const reason = (error as { readonly cause?: unknown }).cause
    const detail = reason instanceof Error && !error.message.includes(reason.message) ? ` (${reason.message})` : ""
    return `${error.message}${detail}`
  }
  return String(error)
}

// The orderly shutdown is bounded by SHUTDOWN_TIMEOUT_SECONDS; should anything hang past it, leave anyway.
for (const signal of ["SIGTERM", "SIGINT"] as const) {
  process.once(signal, () => {
    setTimeout(() => {
      console.error(`bg-ingest: shutdown took longer than ${Duration.format(config.shutdownTimeout)}; exiting`)
      process.exit(1)
    }, Duration.toMillis(config.shutdownTimeout) + 1000).unref()
  })
}

Layer.launch(Layer.mergeAll(appLayer(config), startupSummary(config))).pipe(
  Effect.tapCause((cause) =>
    Cause.hasInterruptsOnly(cause) ? Effect.void : Effect.logFatal(`bg-ingest stopped: ${describeFailure(cause)}`)
  ),
  Effect.provide(Layer.mergeAll(loggingLayer(config), tracingLayer(config))),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    // SIGTERM and SIGINT interrupt the main fiber: that is the orderly shutdown, so it exits 0.
    teardown: (exit, onExit) =>
      Exit.isFailure(exit) && Cause.hasInterruptsOnly(exit.cause) ? onExit(0) : Runtime.defaultTeardown(exit, onExit)
  })
)
