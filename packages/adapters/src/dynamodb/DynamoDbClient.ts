import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  type WriteRequest
} from "@aws-sdk/client-dynamodb"
import { Array as Arr, Config, Context, Data, Duration, Effect, Layer, Option, Random, Schedule } from "effect"
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
   * Runs one SDK call, retrying throttling up to `maxRetries` times, paused by an exponential `Schedule` from
   * `baseDelayMillis` capped at `maxDelayMillis`, with full jitter; any other failure (or the last throttling
   * one) becomes a `DynamoFailure`.
   *
   * Requests are not aborted when the caller is interrupted: the SDK reuses its resolved middleware
   * (`cacheMiddleware`) only for calls without per-call options, which makes every call about 1.5× cheaper
   * in CPU, the limit of single-item writes. Each request is bounded by `requestTimeoutMillis`, and every
   * write this adapter makes is safe to land late (conditional, with a write id, or idempotent).
   */
  readonly call: <A>(command: string, request: (sdk: DynamoDBClient) => Promise<A>) => Effect.Effect<A, DynamoFailure>
  /** Runs code that reads what `command` answered, turning a throw (a `CorruptItem`, say) into its failure. */
  readonly decode: <A>(command: string, body: () => A) => Effect.Effect<A, DynamoFailure>
  /** Writes or deletes any number of items, 25 per BatchWriteItem, retrying unprocessed items as throttling. */
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

/** The pause before each retry: exponential from `base`, capped at `max`, with full jitter (random in [0, cap]). */
const retrySchedule = (tuning: DynamoDbTuning) =>
  Schedule.exponential(Duration.millis(tuning.baseDelayMillis)).pipe(
    Schedule.modifyDelay(({ duration }) =>
      Effect.map(Random.next, (random) =>
        Duration.millis(Math.round(random * Math.min(tuning.maxDelayMillis, Duration.toMillis(duration))))
      )
    )
  )

/** Items a batch call left unprocessed; retried with the same schedule as throttling. Internal. */
class Unprocessed extends Data.TaggedError("Unprocessed")<{ readonly count: number }> {}

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

  const schedule = retrySchedule(tuning)

  const decode = <A>(command: string, body: () => A): Effect.Effect<A, DynamoFailure> =>
    Effect.try({ try: body, catch: (cause) => new DynamoFailure({ command, cause, endpoint, table }) })

  const call = <A>(command: string, request: (client: DynamoDBClient) => Promise<A>): Effect.Effect<A, DynamoFailure> =>
    Effect.tryPromise({
      try: () => request(sdk),
      catch: (cause) => new DynamoFailure({ command, cause, endpoint, table })
    }).pipe(Effect.retry({ schedule, times: tuning.maxRetries, while: (failure) => isThrottling(failure.cause) }))

  /**
   * One batch call for `pending`, then again for what it left unprocessed, until nothing is left or the retries
   * are spent. `send` answers what the call left unprocessed.
   */
  const untilProcessed = <A>(
    command: string,
    pending: ReadonlyArray<A>,
    send: (pending: ReadonlyArray<A>) => Effect.Effect<ReadonlyArray<A>, DynamoFailure>
  ): Effect.Effect<void, DynamoFailure> =>
    Effect.suspend(() => {
      let left = pending
      return Effect.suspend(() => send(left)).pipe(
        Effect.flatMap((unprocessed) => {
          left = unprocessed
          return unprocessed.length === 0 ? Effect.void : Effect.fail(new Unprocessed({ count: unprocessed.length }))
        }),
        Effect.retry({ schedule, times: tuning.maxRetries, while: (error) => error._tag === "Unprocessed" }),
        Effect.catchTag("Unprocessed", ({ count }) =>
          Effect.fail(
            new DynamoFailure({
              command,
              endpoint,
              table,
              cause: new UnprocessedItems(
                `${count} items were still unprocessed after ${tuning.maxRetries + 1} attempts`
              )
            })
          )
        )
      )
    })

  const batchWrite = (requests: ReadonlyArray<WriteRequest>) =>
    Effect.forEach(
      Arr.chunksOf(requests, 25),
      (chunk) =>
        untilProcessed("BatchWriteItem", chunk, (pending) =>
          Effect.map(
            call("BatchWriteItem", (client) =>
              client.send(new BatchWriteItemCommand({ RequestItems: { [table]: [...pending] } }))
            ),
            (output) => output.UnprocessedItems?.[table] ?? []
          )
        ),
      { concurrency: 8, discard: true }
    )

  const batchGet = (
    keys: ReadonlyArray<Record<string, AttributeValue>>,
    projection: { readonly expression: string; readonly names?: Record<string, string> }
  ) =>
    Effect.suspend(() => {
      const found: Array<Record<string, AttributeValue>> = []
      const getChunk = (pending: ReadonlyArray<Record<string, AttributeValue>>) =>
        Effect.map(
          call("BatchGetItem", (client) =>
            client.send(
              new BatchGetItemCommand({
                RequestItems: {
                  [table]: {
                    Keys: [...pending],
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
            return output.UnprocessedKeys?.[table]?.Keys ?? []
          }
        )
      return Effect.as(
        Effect.forEach(Arr.chunksOf(keys, 100), (chunk) => untilProcessed("BatchGetItem", chunk, getChunk), {
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
    decode,
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
