import { CreateTableCommand } from "@aws-sdk/client-dynamodb"
import {
  DynamoReadingStore,
  makeDynamoDbClient,
  makeDynamoDbClientWithTable,
  TableSetup
} from "@bg-ingest/adapters/dynamodb"
import { ReadingStore } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { scratchOptions } from "../../support/dynamodb.ts"

const failureOf = (options: Parameters<typeof makeDynamoDbClientWithTable>[0]) =>
  Effect.flip(makeDynamoDbClientWithTable(options)).pipe(Effect.scoped)

/**
 * A table made without the indexes (an older development table): require-existing names each missing one,
 * create-if-missing adds them. dynalite cannot add an index to an existing table, so this runs on servers
 * that can.
 */
export const missingIndexesSuite = (server: string, endpoint: () => string) =>
  describe(`DynamoDB table without its indexes (${server})`, () => {
    it.live("require-existing names every missing index; create-if-missing adds them and the store works", () =>
      Effect.gen(function* () {
        const options = scratchOptions(endpoint())
        const bare = yield* makeDynamoDbClient({ ...options, table: `${options.table}_probe` })
        yield* Effect.promise(() =>
          bare.sdk.send(
            new CreateTableCommand({
              TableName: options.table,
              ProvisionedThroughput: { ReadCapacityUnits: 5, WriteCapacityUnits: 5 },
              AttributeDefinitions: [
                { AttributeName: "pk", AttributeType: "S" },
                { AttributeName: "sk", AttributeType: "S" }
              ],
              KeySchema: [
                { AttributeName: "pk", KeyType: "HASH" },
                { AttributeName: "sk", KeyType: "RANGE" }
              ]
            })
          )
        )
        const error = yield* failureOf({ ...options, ensureTable: "require-existing" })
        assert.match(error.message, /index pending_events \(pending_shard HASH, pending_since RANGE, ALL\) is missing/)
        assert.match(error.message, /index due_connections .* is missing/)
        assert.match(error.message, /index connections_by_status .* is missing/)

        yield* ReadingStore.use((store) => store.ping).pipe(
          Effect.provide(DynamoReadingStore.layer.pipe(Layer.provide(TableSetup.layerWithClient(options))))
        )
        const ok = yield* Effect.result(
          makeDynamoDbClientWithTable({ ...options, ensureTable: "require-existing" }).pipe(Effect.scoped)
        )
        assert.strictEqual(ok._tag, "Success")
      }).pipe(Effect.scoped)
    )
  })
