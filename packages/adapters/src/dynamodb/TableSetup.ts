import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand
} from "@aws-sdk/client-dynamodb"
import { Effect, Layer, Option } from "effect"
import { DynamoDbClient, type DynamoDbClientShape, type DynamoDbOptions, makeDynamoDbClient } from "./DynamoDbClient.ts"
import { DynamoDbSetupError, type DynamoFailure, describeFailure, errorName } from "./DynamoErrors.ts"
import {
  Attr,
  attributeDefinitions,
  globalSecondaryIndex,
  type IndexDefinition,
  indexes,
  type TableLifecycle,
  tableKeySchema,
  tableKeys
} from "./TableLayout.ts"

const ACTIVE_WAIT_MILLIS = 300_000
const POLL_MILLIS = 250

type Dynamo = Pick<DynamoDbClientShape, "call" | "table" | "endpoint" | "readingTtlDays">

const setupError = (dynamo: Dynamo, message: string) => new DynamoDbSetupError({ table: dynamo.table, message })

const fromFailure = (dynamo: Dynamo) => (failure: DynamoFailure) => setupError(dynamo, describeFailure(failure))

const describeTable = (dynamo: Dynamo) =>
  dynamo
    .call("DescribeTable", (sdk) => sdk.send(new DescribeTableCommand({ TableName: dynamo.table })))
    .pipe(
      Effect.map((output) => Option.fromUndefinedOr(output.Table)),
      Effect.catchIf(
        (failure) => errorName(failure.cause) === "ResourceNotFoundException",
        () => Effect.succeed(Option.none<TableDescription>())
      ),
      Effect.mapError(fromFailure(dynamo))
    )

const sameKeys = (actual: TableDescription["KeySchema"], expected: IndexDefinition["keys"]): boolean =>
  actual !== undefined &&
  actual.length === expected.length &&
  expected.every((key) => actual.some((element) => element.AttributeName === key.name && element.KeyType === key.role))

const indexProblems = (table: TableDescription): Array<string> => {
  const problems: Array<string> = []
  for (const expected of indexes) {
    const actual = table.GlobalSecondaryIndexes?.find((index) => index.IndexName === expected.name)
    const keys = expected.keys.map((key) => `${key.name} ${key.role}`).join(", ")
    if (actual === undefined) {
      problems.push(`index ${expected.name} (${keys}, ${expected.projection.ProjectionType}) is missing`)
      continue
    }
    if (!sameKeys(actual.KeySchema, expected.keys)) problems.push(`index ${expected.name} must have keys ${keys}`)
    const projection = actual.Projection?.ProjectionType
    if (expected.projection.ProjectionType === "ALL" && projection !== "ALL") {
      problems.push(`index ${expected.name} must project ALL attributes`)
    }
    if (actual.IndexStatus !== undefined && actual.IndexStatus !== "ACTIVE") {
      problems.push(`index ${expected.name} is ${actual.IndexStatus}, not ACTIVE yet`)
    }
  }
  return problems
}

const tableProblems = (table: TableDescription): Array<string> => {
  const problems: Array<string> = []
  if (!sameKeys(table.KeySchema, tableKeys))
    problems.push(`the key must be ${Attr.pk} (HASH, S), ${Attr.sk} (RANGE, S)`)
  return [...problems, ...indexProblems(table)]
}

const isActive = (table: TableDescription): boolean =>
  table.TableStatus === "ACTIVE" &&
  (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === "ACTIVE")

const waitUntilActive = Effect.fnUntraced(function* (dynamo: Dynamo) {
  for (let waited = 0; waited <= ACTIVE_WAIT_MILLIS; waited += POLL_MILLIS) {
    const table = yield* describeTable(dynamo)
    if (Option.isSome(table) && isActive(table.value)) return table.value
    yield* Effect.sleep(POLL_MILLIS)
  }
  return yield* setupError(dynamo, `DynamoDB table "${dynamo.table}" did not become ACTIVE within 5 minutes`)
})

const createTable = Effect.fnUntraced(function* (dynamo: Dynamo) {
  yield* dynamo
    .call("CreateTable", (sdk) =>
      sdk.send(
        new CreateTableCommand({
          TableName: dynamo.table,
          BillingMode: "PAY_PER_REQUEST",
          AttributeDefinitions: attributeDefinitions(),
          KeySchema: tableKeySchema(),
          GlobalSecondaryIndexes: indexes.map(globalSecondaryIndex)
        })
      )
    )
    .pipe(
      // Another replica is creating it at the same moment: wait for theirs.
      Effect.catchIf(
        (failure) => errorName(failure.cause) === "ResourceInUseException",
        () => Effect.void
      ),
      Effect.mapError(fromFailure(dynamo))
    )
  yield* Effect.logInfo("Created DynamoDB table", { table: dynamo.table })
  return yield* waitUntilActive(dynamo)
})

/** A development table made by an older build: add the indexes it lacks, one per UpdateTable as DynamoDB requires. */
const addMissingIndexes = Effect.fnUntraced(function* (dynamo: Dynamo, table: TableDescription) {
  let current = table.TableStatus === "ACTIVE" ? table : yield* waitUntilActive(dynamo)
  // An index of a provisioned table needs its own capacity; an on-demand table's must not have any.
  const { ReadCapacityUnits, WriteCapacityUnits } = current.ProvisionedThroughput ?? {}
  const provisioned =
    current.BillingModeSummary?.BillingMode !== "PAY_PER_REQUEST" && ReadCapacityUnits && WriteCapacityUnits
      ? { ProvisionedThroughput: { ReadCapacityUnits, WriteCapacityUnits } }
      : {}
  for (const index of indexes) {
    if (current.GlobalSecondaryIndexes?.some((existing) => existing.IndexName === index.name)) continue
    yield* dynamo
      .call("UpdateTable", (sdk) =>
        sdk.send(
          new UpdateTableCommand({
            TableName: dynamo.table,
            AttributeDefinitions: attributeDefinitions(),
            GlobalSecondaryIndexUpdates: [{ Create: { ...globalSecondaryIndex(index), ...provisioned } }]
          })
        )
      )
      .pipe(Effect.mapError(fromFailure(dynamo)))
    yield* Effect.logInfo("Added DynamoDB index", { table: dynamo.table, index: index.name })
    current = yield* waitUntilActive(dynamo)
  }
  return current
})

const ensureTimeToLive = Effect.fnUntraced(function* (dynamo: Dynamo, lifecycle: TableLifecycle) {
  if (Option.isNone(dynamo.readingTtlDays)) return
  const unsupported = (failure: DynamoFailure) => errorName(failure.cause) === "UnknownOperationException"
  const described = yield* dynamo
    .call("DescribeTimeToLive", (sdk) => sdk.send(new DescribeTimeToLiveCommand({ TableName: dynamo.table })))
    .pipe(Effect.mapError(fromFailure(dynamo)))
  const ttl = described.TimeToLiveDescription
  const status = ttl?.TimeToLiveStatus ?? "DISABLED"
  if (status === "ENABLED" || status === "ENABLING") {
    if (ttl?.AttributeName === Attr.expiresAt) return
    return yield* setupError(
      dynamo,
      `DynamoDB table "${dynamo.table}" expires items by "${ttl?.AttributeName}", but READING_TTL_DAYS needs TTL on "${Attr.expiresAt}"`
    )
  }
  if (lifecycle === "require-existing") {
    return yield* setupError(
      dynamo,
      `READING_TTL_DAYS is set but TTL is ${status} on table "${dynamo.table}": enable TTL on attribute "${Attr.expiresAt}"`
    )
  }
  yield* dynamo
    .call("UpdateTimeToLive", (sdk) =>
      sdk.send(
        new UpdateTimeToLiveCommand({
          TableName: dynamo.table,
          TimeToLiveSpecification: { Enabled: true, AttributeName: Attr.expiresAt }
        })
      )
    )
    .pipe(
      Effect.catchIf(unsupported, () =>
        Effect.logWarning(
          `${dynamo.endpoint} does not implement TTL: readings get "${Attr.expiresAt}" but nothing deletes them`
        )
      ),
      Effect.mapError(fromFailure(dynamo))
    )
})

/** Makes sure the table is usable as `lifecycle` says, or fails with one message naming every problem. */
export const ensureTable = Effect.fnUntraced(function* (dynamo: Dynamo, lifecycle: TableLifecycle) {
  const existing = yield* describeTable(dynamo)
  if (Option.isNone(existing)) {
    if (lifecycle === "require-existing") {
      return yield* setupError(
        dynamo,
        `DynamoDB table "${dynamo.table}" does not exist at ${dynamo.endpoint}; create it as docs/dynamodb.md describes`
      )
    }
    yield* createTable(dynamo)
  } else {
    const table = lifecycle === "create-if-missing" ? yield* addMissingIndexes(dynamo, existing.value) : existing.value
    const problems = tableProblems(table)
    if (problems.length > 0) {
      return yield* setupError(dynamo, `DynamoDB table "${dynamo.table}" cannot be used: ${problems.join("; ")}`)
    }
  }
  yield* ensureTimeToLive(dynamo, lifecycle)
})

/** A client whose table is checked (or created) as `options.ensureTable` says. */
export const makeDynamoDbClientWithTable = Effect.fnUntraced(function* (options: DynamoDbOptions) {
  const client = yield* makeDynamoDbClient(options)
  yield* ensureTable(client, options.ensureTable)
  return client
})

/** The table's setup, as a layer of its own: it runs when built, before anything that needs the client. */
export const TableSetup = {
  /** Checks (or creates) the client's table as `lifecycle` says. */
  layer: (lifecycle: TableLifecycle): Layer.Layer<never, DynamoDbSetupError, DynamoDbClient> =>
    Layer.effectDiscard(
      Effect.gen(function* () {
        yield* ensureTable(yield* DynamoDbClient, lifecycle)
      })
    ),
  /** The client, with its table set up before anything uses it: what the stores need. */
  layerWithClient: (options: DynamoDbOptions): Layer.Layer<DynamoDbClient, DynamoDbSetupError> =>
    TableSetup.layer(options.ensureTable).pipe(Layer.provideMerge(DynamoDbClient.layer(options)))
} as const
