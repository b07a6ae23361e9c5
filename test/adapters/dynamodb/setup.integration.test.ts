import { GetItemCommand } from "@aws-sdk/client-dynamodb"
import {
  DynamoDbClient,
  DynamoFailure,
  DynamoReadingStore,
  describeFailure,
  dynamoDbConfig,
  isLocalEndpoint,
  makeDynamoDbClientWithTable,
  TableSetup
} from "@bg-ingest/adapters/dynamodb"
import { ReadingStore } from "@bg-ingest/domain"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
import { scratchOptions, startDynalite } from "../../support/dynamodb.ts"
import { reading } from "../../support/fixtures.ts"

const server = await startDynalite()
afterAll(() => server.stop())

const failureOf = (options: Parameters<typeof makeDynamoDbClientWithTable>[0]) =>
  Effect.flip(makeDynamoDbClientWithTable(options)).pipe(Effect.scoped)

describe("DynamoDB table lifecycle", () => {
  it.live("require-existing stops with one clear message when the table is missing", () =>
    Effect.gen(function* () {
      const error = yield* failureOf({ ...scratchOptions(server.endpoint), ensureTable: "require-existing" })
      assert.strictEqual(error._tag, "DynamoDbSetupError")
      assert.match(
        error.message,
        /^DynamoDB table "bg_test_[\w-]+" does not exist at http:\/\/127\.0\.0\.1:\d+; create it/
      )
      assert.notInclude(error.message, "\n")
    })
  )

  it.live("an unreachable endpoint is one message saying so", () =>
    Effect.gen(function* () {
      const error = yield* failureOf({
        endpoint: "http://127.0.0.1:9",
        table: "bg_readings",
        ensureTable: "require-existing",
        tuning: { sdkMaxAttempts: 1 }
      })
      assert.match(error.message, /^DynamoDB at http:\/\/127\.0\.0\.1:9 is unreachable \(ECONNREFUSED\b/)
    })
  )

  it.live("READING_TTL_DAYS stamps readings with expires_at (dynalite has no TTL: warned, not fatal)", () =>
    Effect.gen(function* () {
      const store = yield* ReadingStore
      const { sdk, table } = yield* DynamoDbClient
      yield* store.putMany([reading("u1", 0, 120)])
      const item = yield* Effect.promise(() =>
        sdk.send(
          new GetItemCommand({
            TableName: table,
            Key: { pk: { S: "USER#u1" }, sk: { S: "READING#2026-02-01T08:00:00Z" } }
          })
        )
      )
      assert.strictEqual(item.Item?.expires_at?.N, String(Date.parse("2026-02-01T08:00:00Z") / 1000 + 30 * 86_400))
    }).pipe(
      Effect.provide(
        DynamoReadingStore.layer.pipe(
          Layer.provideMerge(TableSetup.layerWithClient(scratchOptions(server.endpoint, { readingTtlDays: 30 })))
        )
      )
    )
  )
})

describe("DynamoDB configuration", () => {
  const parse = (env: Record<string, string>) =>
    dynamoDbConfig({ ensureTable: "require-existing" }).parse(ConfigProvider.fromUnknown(env)).pipe(Effect.result)

  it.effect("reads the seed's variables, with the default table", () =>
    Effect.gen(function* () {
      const parsed = yield* parse({ AWS_REGION: "eu-west-1", DYNAMODB_ENDPOINT: "http://127.0.0.1:8000" })
      assert.deepStrictEqual(parsed._tag === "Success" ? parsed.success : undefined, {
        region: "eu-west-1",
        endpoint: "http://127.0.0.1:8000",
        table: "bg_readings",
        ensureTable: "require-existing",
        readingTtlDays: undefined
      })
      const custom = yield* parse({ DYNAMODB_TABLE: "glucose.prod", READING_TTL_DAYS: "400" })
      assert.deepStrictEqual(custom._tag === "Success" ? [custom.success.table, custom.success.readingTtlDays] : [], [
        "glucose.prod",
        400
      ])
    })
  )

  it.effect("rejects a table name DynamoDB would refuse and a TTL that is not a whole number of days", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* parse({ DYNAMODB_TABLE: "no spaces!" }))._tag, "Failure")
      assert.strictEqual((yield* parse({ READING_TTL_DAYS: "1.5" }))._tag, "Failure")
      assert.strictEqual((yield* parse({ DYNAMODB_ENDPOINT: "not a url" }))._tag, "Failure")
    })
  )

  it("uses dummy credentials only for local endpoints", () => {
    assert.isTrue(isLocalEndpoint("http://127.0.0.1:8000"))
    assert.isTrue(isLocalEndpoint("http://dynamodb-local:8000"))
    assert.isTrue(isLocalEndpoint("https://localhost:8443"))
    assert.isFalse(isLocalEndpoint("https://dynamodb.eu-west-1.amazonaws.com"))
    assert.isFalse(isLocalEndpoint("https://vpce-0123.dynamodb.eu-west-1.vpce.amazonaws.com"))
  })

  it("turns SDK failures into one sentence without a stack trace", () => {
    const failure = (cause: unknown) =>
      describeFailure(new DynamoFailure({ command: "Query", cause, endpoint: "AWS eu-west-1", table: "bg_readings" }))
    assert.strictEqual(
      failure(
        Object.assign(new Error("The security token included in the request is invalid."), {
          name: "UnrecognizedClientException"
        })
      ),
      "DynamoDB at AWS eu-west-1 rejected the AWS credentials: UnrecognizedClientException: The security token included in the request is invalid."
    )
    assert.match(
      failure(
        Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" })
      ),
      /^No AWS credentials: the default provider chain/
    )
    assert.strictEqual(
      failure(Object.assign(new Error("Requested resource not found"), { name: "ResourceNotFoundException" })),
      'DynamoDB table "bg_readings" (or one of its indexes) does not exist at AWS eu-west-1'
    )
    assert.match(failure(Object.assign(new Error("not authorized"), { name: "AccessDeniedException" })), /IAM policy/)
  })
})
