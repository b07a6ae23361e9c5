import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  type WriteRequest
} from "@aws-sdk/client-dynamodb"
import { Config, Context, Effect, Layer, Option, Random } from "effect"
import { DynamoDbSetupError, DynamoFailure, isThrottling, UnprocessedItems } from "./DynamoErrors.ts"
import { DEFAULT_TABLE, type TableLifecycle } from "./TableLayout.ts"

/** Bounds of the adapter's own retries (throttling, unprocessed batch items) and of its parallelism. */
export interface DynamoDbTuning {
  /** Retries after the first attempt, for throttling errors and unprocessed batch items. */
  readonly maxRetries: number
  readonly baseDelayMillis: number
  readonly maxDelayMillis: number
  /** Single-item writes in flight at once per store call. */
  readonly writeConcurrency: number
  /** Attempts the SDK itself makes for transport faults and 5xx answers. */
  readonly sdkMaxAttempts: number
  readonly connectionTimeoutMillis: number
  readonly requestTimeoutMillis: number
}

export const defaultTuning: DynamoDbTuning = {
  maxRetries: 8,
  baseDelayMillis: 50,
  maxDelayMillis: 2000,
  writeConcurrency: 32,
  sdkMaxAttempts: 3,
  connectionTimeoutMillis: 3000,
  requestTimeoutMillis: 15_000
}

export interface DynamoDbOptions {
  /** `AWS_REGION`; when absent the SDK's own chain decides (us-east-1 for a local endpoint). */
  readonly region?: string | undefined
  /** `DYNAMODB_ENDPOINT`, for DynamoDB Local, dynalite or a VPC endpoint; absent on AWS. */
  readonly endpoint?: string | undefined
  /** `DYNAMODB_TABLE`, default `bg_readings`. */
  readonly table?: string | undefined
  /** What the table setup (`TableSetup`) does: `create-if-missing` in development, `require-existing` elsewhere. */
  readonly ensureTable: TableLifecycle
  /** `READING_TTL_DAYS`: readings expire this many days after their timestamp (DynamoDB TTL). */
  readonly readingTtlDays?: number | undefined
  readonly tuning?: Partial<DynamoDbTuning> | undefined
  /** Runs on the new SDK client before any call: for middleware (tracing, metrics, fault injection in tests). */
  readonly instrument?: ((sdk: DynamoDBClient) => void) | undefined
}

export interface DynamoDbClientShape {
  readonly sdk: DynamoDBClient
  readonly table: string
  /** Where requests go, for messages: the endpoint, or `AWS <region>`. */
  readonly endpoint: string
  readonly readingTtlDays: Option.Option<number>
  readonly tuning: DynamoDbTuning
  /**
   * Runs one SDK call, retrying throttling with exponential backoff and full jitter up to `maxRetries`;
   * any other failure (or the last throttling one) becomes a `DynamoFailure`.
   *
   * Requests are not aborted when the caller is interrupted: the SDK reuses its resolved middleware
   * (`cacheMiddleware`) only for calls without per-call options, which makes every call about 1.5× cheaper
   * in CPU, the limit of single-item writes. Each request is bounded by `requestTimeoutMillis`, and every
   * write this adapter makes is safe to land late (conditional, with a write id, or idempotent).
   */
  readonly call: <A>(command: string, request: (sdk: DynamoDBClient) => Promise<A>) => Effect.Effect<A, DynamoFailure>
  /** The pause before retry number `attempt` (0-based): random in [0, min(max, base·2^attempt)]. */
  readonly backoff: (attempt: number) => Effect.Effect<void>
  /** Writes or deletes any number of items, 25 per BatchWriteItem, retrying unprocessed items. */
  readonly batchWrite: (requests: ReadonlyArray<WriteRequest>) => Effect.Effect<void, DynamoFailure>
  /** Reads items by key, 100 per BatchGetItem, strongly consistent, retrying unprocessed keys. */
  readonly batchGet: (
    keys: ReadonlyArray<Record<string, AttributeValue>>,
    projection: { readonly expression: string; readonly names?: Record<string, string> }
  ) => Effect.Effect<ReadonlyArray<Record<string, AttributeValue>>, DynamoFailure>
}

const isLoopback = (hostname: string): boolean =>
  hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127(\.\d{1,3}){3}$/.test(hostname)

/**
 * A local emulator (dynalite, DynamoDB Local): plain HTTP or a loopback host. AWS endpoints are always HTTPS
 * on a public name, so this never applies to AWS, and only then are dummy credentials used.
 */
export const isLocalEndpoint = (endpoint: string): boolean => {
  const url = new URL(endpoint)
  return url.protocol === "http:" || isLoopback(url.hostname)
}

const sdkConfig = (options: DynamoDbOptions, tuning: DynamoDbTuning): DynamoDBClientConfig => {
  const agent = { keepAlive: true, maxSockets: Math.max(64, tuning.writeConcurrency * 2) }
  const base: DynamoDBClientConfig = {
    maxAttempts: tuning.sdkMaxAttempts,
    cacheMiddleware: true,
    requestHandler: {
      connectionTimeout: tuning.connectionTimeoutMillis,
      requestTimeout: tuning.requestTimeoutMillis,
      throwOnRequestTimeout: true,
      httpAgent: agent,
      httpsAgent: agent
    }
  }
  if (options.endpoint === undefined) {
    return options.region === undefined ? base : { ...base, region: options.region }
  }
  const local = isLocalEndpoint(options.endpoint)
  return {
    ...base,
    endpoint: options.endpoint,
    region: options.region ?? (local ? "us-east-1" : undefined),
    // Emulators accept any key; a fixed one keeps DynamoDB Local on one database whatever the shell exports.
    ...(local ? { credentials: { accessKeyId: "local", secretAccessKey: "local" } } : {})
  } as DynamoDBClientConfig
}

const chunk = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let start = 0; start < items.length; start += size) chunks.push(items.slice(start, start + size))
  return chunks
}

export const makeDynamoDbClient = Effect.fnUntraced(function* (options: DynamoDbOptions) {
  const tuning: DynamoDbTuning = { ...defaultTuning, ...options.tuning }
  const table = options.table ?? DEFAULT_TABLE
  const endpoint = options.endpoint ?? `AWS ${options.region ?? "(region of the SDK chain)"}`
  const sdk = yield* Effect.acquireRelease(
    Effect.try({
      try: () => {
        const client = new DynamoDBClient(sdkConfig(options, tuning))
        options.instrument?.(client)
        return client
      },
      catch: (cause) =>
        new DynamoDbSetupError({
          table,
          message: `Cannot configure the DynamoDB client: ${cause instanceof Error ? cause.message : String(cause)}`
        })
    }),
    (client) => Effect.sync(() => client.destroy())
  )

  const backoff = (attempt: number): Effect.Effect<void> =>
    Effect.flatMap(Random.next, (random) =>
      Effect.sleep(
        Math.round(random * Math.min(tuning.maxDelayMillis, tuning.baseDelayMillis * 2 ** Math.min(attempt, 30)))
      )
    )

  const call = <A>(
    command: string,
    request: (client: DynamoDBClient) => Promise<A>
  ): Effect.Effect<A, DynamoFailure> => {
    const once = Effect.tryPromise({
      try: () => request(sdk),
      catch: (cause) => new DynamoFailure({ command, cause, endpoint, table })
    })
    const attempt = (retry: number): Effect.Effect<A, DynamoFailure> =>
      Effect.catch(once, (failure) =>
        retry < tuning.maxRetries && isThrottling(failure.cause)
          ? Effect.andThen(backoff(retry), attempt(retry + 1))
          : Effect.fail(failure)
      )
    return attempt(0)
  }

  const leftUnprocessed = (command: string, count: number) =>
    new DynamoFailure({
      command,
      endpoint,
      table,
      cause: new UnprocessedItems(`${count} items were still unprocessed after ${tuning.maxRetries + 1} attempts`)
    })

  const writeChunk = (requests: ReadonlyArray<WriteRequest>, retry: number): Effect.Effect<void, DynamoFailure> =>
    Effect.flatMap(
      call("BatchWriteItem", (client) =>
        client.send(new BatchWriteItemCommand({ RequestItems: { [table]: [...requests] } }))
      ),
      (output) => {
        const unprocessed = output.UnprocessedItems?.[table] ?? []
        if (unprocessed.length === 0) return Effect.void
        if (retry >= tuning.maxRetries) return Effect.fail(leftUnprocessed("BatchWriteItem", unprocessed.length))
        return Effect.andThen(backoff(retry), writeChunk(unprocessed, retry + 1))
      }
    )

  const batchWrite = (requests: ReadonlyArray<WriteRequest>) =>
    Effect.forEach(chunk(requests, 25), (requests) => writeChunk(requests, 0), { concurrency: 8, discard: true })

  const getChunk = (
    keys: ReadonlyArray<Record<string, AttributeValue>>,
    projection: { readonly expression: string; readonly names?: Record<string, string> },
    found: Array<Record<string, AttributeValue>>,
    retry: number
  ): Effect.Effect<void, DynamoFailure> =>
    Effect.flatMap(
      call("BatchGetItem", (client) =>
        client.send(
          new BatchGetItemCommand({
            RequestItems: {
              [table]: {
                Keys: [...keys],
                ConsistentRead: true,
                ProjectionExpression: projection.expression,
                ...(projection.names === undefined ? {} : { ExpressionAttributeNames: projection.names })
              }
            }
          })
        )
      ),
      (output) => {
        for (const item of output.Responses?.[table] ?? []) found.push(item)
        const unprocessed = output.UnprocessedKeys?.[table]?.Keys ?? []
        if (unprocessed.length === 0) return Effect.void
        if (retry >= tuning.maxRetries) return Effect.fail(leftUnprocessed("BatchGetItem", unprocessed.length))
        return Effect.andThen(backoff(retry), getChunk(unprocessed, projection, found, retry + 1))
      }
    )

  const batchGet = (
    keys: ReadonlyArray<Record<string, AttributeValue>>,
    projection: { readonly expression: string; readonly names?: Record<string, string> }
  ) =>
    Effect.suspend(() => {
      const found: Array<Record<string, AttributeValue>> = []
      return Effect.as(
        Effect.forEach(chunk(keys, 100), (keys) => getChunk(keys, projection, found, 0), {
          concurrency: 8,
          discard: true
        }),
        found
      )
    })

  return {
    sdk,
    table,
    endpoint,
    readingTtlDays: Option.fromUndefinedOr(options.readingTtlDays),
    tuning,
    call,
    backoff,
    batchWrite,
    batchGet
  } satisfies DynamoDbClientShape
})

/**
 * The DynamoDB SDK client and the name of the table it works on; destroyed when the layer is released. The
 * table itself is checked (or created) by `TableSetup`, which the stores' layer puts before them.
 */
export class DynamoDbClient extends Context.Service<DynamoDbClient, DynamoDbClientShape>()(
  "@bg-ingest/adapters/dynamodb/DynamoDbClient"
) {
  static readonly layer = (options: DynamoDbOptions): Layer.Layer<DynamoDbClient, DynamoDbSetupError> =>
    Layer.effect(DynamoDbClient, makeDynamoDbClient(options))

  static readonly layerConfig = (
    options: Config.Wrap<DynamoDbOptions>
  ): Layer.Layer<DynamoDbClient, DynamoDbSetupError | Config.ConfigError> =>
    Layer.effect(
      DynamoDbClient,
      Effect.gen(function* () {
        return yield* makeDynamoDbClient(yield* Config.unwrap(options))
      })
    )
}
