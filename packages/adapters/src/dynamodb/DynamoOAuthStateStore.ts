import { DeleteItemCommand, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import { OAuthStateStore, OAuthStateStoreError, PendingAuthorization } from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option, Result, Schema } from "effect"
import { SecureRandom } from "effect/crypto"
import { DynamoDbClient } from "./DynamoDbClient.ts"
import { type DynamoFailure, describeFailure, whenConditionFails } from "./DynamoErrors.ts"
import { Attr } from "./TableLayout.ts"

// Pending authorizations share the table: pk = `OAUTH_STATE#<sha-256 of the state>`, sk = `OAUTH_STATE`.
const STATE_PREFIX = "OAUTH_STATE#"
const STATE_SK = "OAUTH_STATE"
// Kept an hour past expiry so that a late callback is told "expired" rather than "unknown"; where the table has
// TTL on `expires_at` (READING_TTL_DAYS), DynamoDB then deletes them.
const KEEP_AFTER_EXPIRY_SECONDS = 3600

const failure = (operation: OAuthStateStoreError["operation"]) => (error: DynamoFailure) =>
  new OAuthStateStoreError({ operation, message: describeFailure(error), cause: error.cause })

const decodePending = Schema.decodeUnknownResult(PendingAuthorization)

/**
 * The `OAuthStateStore` on the DynamoDB table; `consume` takes the item by one conditional UpdateItem (atomic, and
 * idempotent for its own retries), then deletes it.
 */
export const makeDynamoOAuthStateStore = Effect.gen(function* () {
  const dynamo = yield* DynamoDbClient
  const key = (stateHash: string) => ({ pk: { S: `${STATE_PREFIX}${stateHash}` }, sk: { S: STATE_SK } })

  const put = Effect.fn("DynamoOAuthStateStore.put")(
    function* (pending: PendingAuthorization) {
      yield* dynamo.call("PutItem", (sdk) =>
        sdk.send(
          new PutItemCommand({
            TableName: dynamo.table,
            Item: {
              ...key(pending.stateHash),
              user_id: { S: pending.userId },
              provider: { S: pending.provider },
              created_at: { N: String(DateTime.toEpochMillis(pending.createdAt)) },
              state_expires_at: { N: String(DateTime.toEpochMillis(pending.expiresAt)) },
              [Attr.expiresAt]: {
                N: String(Math.ceil(DateTime.toEpochMillis(pending.expiresAt) / 1000) + KEEP_AFTER_EXPIRY_SECONDS)
              }
            }
          })
        )
      )
    },
    Effect.mapError(failure("put"))
  )

  const consume = Effect.fn("DynamoOAuthStateStore.consume")(
    function* (stateHash: string) {
      // Taken by a conditional update that names this consume: of two concurrent consumes one takes it, and one
      // whose answer was lost, sent again by the SDK, finds its own name and still gets it (a DeleteItem sent
      // again would find nothing, and the user's authorization would be lost).
      const token = SecureRandom.uuidV4Unsafe()
      const item = yield* dynamo
        .call("UpdateItem", (sdk) =>
          sdk.send(
            new UpdateItemCommand({
              TableName: dynamo.table,
              Key: key(stateHash),
              UpdateExpression: "SET consumed_by = :token",
              ConditionExpression:
                "attribute_exists(pk) AND (attribute_not_exists(consumed_by) OR consumed_by = :token)",
              ExpressionAttributeValues: { ":token": { S: token } },
              ReturnValues: "ALL_NEW"
            })
          )
        )
        .pipe(
          Effect.map((output) => output.Attributes),
          whenConditionFails(undefined)
        )
      if (item !== undefined) {
        // Taken: the item itself may go. Should this fail, it stays marked as consumed (never given out again)
        // until the table's TTL removes it.
        yield* dynamo
          .call("DeleteItem", (sdk) =>
            sdk.send(
              new DeleteItemCommand({
                TableName: dynamo.table,
                Key: key(stateHash),
                ConditionExpression: "consumed_by = :token",
                ExpressionAttributeValues: { ":token": { S: token } }
              })
            )
          )
          .pipe(Effect.ignore)
      }
      if (item === undefined) return Option.none()
      const pending = decodePending({
        stateHash,
        userId: item.user_id?.S,
        provider: item.provider?.S,
        createdAt: DateTime.make(Number(item.created_at?.N)).pipe(Option.getOrUndefined),
        expiresAt: DateTime.make(Number(item.state_expires_at?.N)).pipe(Option.getOrUndefined)
      })
      if (Result.isFailure(pending)) {
        return yield* new OAuthStateStoreError({
          operation: "consume",
          message: "DynamoDB holds an OAuth state item this adapter cannot have written"
        })
      }
      return Option.some(pending.success)
    },
    Effect.mapError((error) => (error._tag === "DynamoFailure" ? failure("consume")(error) : error))
  )

  return OAuthStateStore.of({ put, consume })
})

export const DynamoOAuthStateStore = {
  /** Needs a `DynamoDbClient`. */
  layer: Layer.effect(OAuthStateStore, makeDynamoOAuthStateStore)
} as const
