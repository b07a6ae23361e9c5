/**
 * The server under test: the service's own composition root (`appLayer` of packages/runner) configured from the
 * environment as `npm start` is, except that it seeds no demo users, so it serves exactly the prepared database.
 *
 * With `BENCH_AS_PRODUCTION=1` it runs as `APP_ENV=production` serves, on SQLite: production's rules refuse
 * SQLite (its store is DynamoDB, its events RabbitMQ), but what the read path does differently there is the HTTP
 * layer's (API keys required, JSON logs at Info, secure cookies), so the configuration is loaded as development
 * loads it (with `API_KEYS`, `LOG_FORMAT=json`, `WEBHOOK_SECRET` given) and then marked production. Reads then
 * compare with the bare server over the same SQLite file, as the other configurations do.
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
const production = process.env.BENCH_AS_PRODUCTION === "1"
if (production && loaded.value.apiKeys.length === 0) {
  console.error("BENCH_AS_PRODUCTION=1 needs API_KEYS")
  process.exit(1)
}
const config = { ...loaded.value, demoUsers: [], ...(production ? { appEnv: "production" as const } : {}) }

Layer.launch(appLayer(config)).pipe(Effect.provide(loggingLayer(config)), NodeRuntime.runMain)
