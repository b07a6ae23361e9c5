import { type AppConfig, coreLayer, loadAppConfig } from "@bg-ingest/runner"
import { Result } from "effect"
import { freePort, type NodeProcess, SOURCE_CONDITION, startNode, waitUntilOk } from "./processes.ts"

/**
 * The service's configuration as `npm start` reads it from these variables (development, SQLite in `dataDir`,
 * events in process, the simulator), validated by the service's own loader.
 */
export const serviceConfig = (dataDir: string, env: Record<string, string> = {}): AppConfig => {
  const loaded = loadAppConfig({
    APP_ENV: "development",
    DATA_DIR: dataDir,
    STORE: "sqlite",
    EVENTS: "memory",
    PROVIDERS: "simulator",
    LOG_LEVEL: "Warn",
    ...env
  })
  if (Result.isFailure(loaded)) throw new Error(loaded.failure.message)
  return { ...loaded.success, demoUsers: [] }
}

/** The domain's use cases on the configured adapters: the runner's own `coreLayer`, in this process. */
export const serviceCore = (dataDir: string, env: Record<string, string> = {}) => coreLayer(serviceConfig(dataDir, env))

/**
 * Starts the server under test (support/serviceServer.ts: the runner's `appLayer`, no demo users) on a free
 * loopback port over `dataDir`, and resolves once `/ready` answers 200.
 */
export const startService = async (
  dataDir: string,
  env: Record<string, string> = {},
  nodeArgs: ReadonlyArray<string> = []
): Promise<{ readonly process: NodeProcess; readonly url: string }> => {
  const port = await freePort()
  const process = startNode([SOURCE_CONDITION, ...nodeArgs], "bench/support/serviceServer.ts", [], {
    APP_ENV: "development",
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir,
    STORE: "sqlite",
    EVENTS: "memory",
    PROVIDERS: "simulator",
    LOG_FORMAT: "json",
    ...env
  })
  const url = `http://127.0.0.1:${port}`
  await waitUntilOk(process, `${url}/ready`, performance.now())
  return { process, url }
}

/**
 * Starts the service exactly as `npm start` does (`packages/runner/bin/bg-ingest.mjs`, from TypeScript source):
 * development defaults, the three demo users seeded and polled, the scheduler on, pretty logs at Info; only
 * where it listens and its data directory are given.
 */
export const startDevelopment = async (
  dataDir: string,
  nodeArgs: ReadonlyArray<string> = []
): Promise<{ readonly process: NodeProcess; readonly url: string }> => {
  const port = await freePort()
  const process = startNode([SOURCE_CONDITION, ...nodeArgs], "packages/runner/bin/bg-ingest.mjs", [], {
    HOST: "127.0.0.1",
    PORT: String(port),
    DATA_DIR: dataDir
  })
  const url = `http://127.0.0.1:${port}`
  await waitUntilOk(process, `${url}/ready`, performance.now())
  return { process, url }
}

/** The API key the production configuration requires, and the header that presents it. */
export const BENCH_API_KEY = "bench-api-key-0123456789abcdef"
export const BENCH_API_KEY_HEADER = `Authorization: Bearer ${BENCH_API_KEY}`

/**
 * Starts the service as production serves reads (support/serviceServer.ts with `BENCH_AS_PRODUCTION=1`): API
 * keys required, JSON logs at Info, secure cookies, no demo users, the scheduler on; on SQLite.
 */
export const startProduction = (dataDir: string, nodeArgs: ReadonlyArray<string> = []) =>
  startService(
    dataDir,
    {
      BENCH_AS_PRODUCTION: "1",
      API_KEYS: BENCH_API_KEY,
      LOG_FORMAT: "json",
      LOG_LEVEL: "Info",
      WEBHOOK_SECRET: "bench-webhook-secret-0123456789abcdef"
    },
    nodeArgs
  )
