/**
 * The server under test: the service's own composition root (`appLayer` of packages/runner) configured from the
 * environment as `npm start` is, except that it seeds no demo users, so it serves exactly the prepared database.
 *
 *   node --conditions=@bg-ingest/source bench/support/serviceServer.ts   (DATA_DIR, PORT, … in the environment)
 */
import { appLayer, loadAppConfig, loggingLayer } from "@bg-ingest/runner"
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Layer, Result } from "effect"

const loaded = loadAppConfig(process.env as Record<string, string>)
if (Result.isFailure(loaded)) {
  console.error(loaded.failure.message)
  process.exit(1)
}
const config = { ...loaded.success, demoUsers: [] }

Layer.launch(appLayer(config)).pipe(Effect.provide(loggingLayer(config)), NodeRuntime.runMain)
