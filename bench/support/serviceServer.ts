/**
 * The server under test: the service's own composition root (`appLayer` of packages/runner) configured from the
 * environment as `npm start` is, except that it seeds no demo users, so it serves exactly the prepared database.
 *
 *   node --conditions=@bg-ingest/source bench/support/serviceServer.ts   (DATA_DIR, PORT, … in the environment)
 */
import { appLayer, loadConfiguration, localVariables, loggingLayer } from "@bg-ingest/runner"
import { NodeFileSystem, NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Layer } from "effect"

const loaded = await Effect.runPromiseExit(
  localVariables(process.cwd()).pipe(Effect.flatMap(loadConfiguration), Effect.provide(NodeFileSystem.layer))
)
if (Exit.isFailure(loaded)) {
  console.error(String(Cause.squash(loaded.cause)))
  process.exit(1)
}
const config = { ...loaded.value, demoUsers: [] }

Layer.launch(appLayer(config)).pipe(Effect.provide(loggingLayer(config)), NodeRuntime.runMain)
