import { DeleteItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb"
import {
  OAuthStateStore,
  OAuthStateStoreError,
  type PendingAuthorization,
  type ProviderId,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import { DynamoDbClient } from "./DynamoDbClient.ts"
import { type DynamoFailure, describeFailure, isConditionFailure } from "./DynamoErrors.ts"
import { Attr } from "./TableLayout.ts"

// Pending authorizations share the table: pk = `OAUTH_STATE#<sha-256 of the state>`, sk = `OAUTH_STATE`.
const STATE_PREFIX = "OAUTH_STATE#"
const STATE_SK = "OAUTH_STATE"
// Kept an hour past expiry so that a late callback is told "expired" rather than "unknown"; where the table has
// TTL on `expires_at` (READING_TTL_DAYS), DynamoDB then deletes them.
const KEEP_AFTER_EXPIRY_SECONDS = 3600

const failure = (operation: OAuthStateStoreError["operation"]) => (error: DynamoFailure) =>
  new OAuthStateStoreError({ operation, message: describeFailure(error), cause: error.cause })

/** The `OAuthStateStore` on the DynamoDB table; `consume` is one DeleteItem returning the old item: atomic. */
export const makeDynamoOAuthStateStore = Effect.gen(function* () {
  const dynamo = yield* DynamoDbClient
  const key = (stateHash: string) => ({ pk: { S: `${STATE_PREFIX}${stateHash}` }, sk: { S: STATE_SK } })

  return OAuthStateStore.of({
    put: (pending: PendingAuthorization) =>
      dynamo
        .call("PutItem", (sdk) =>
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
        .pipe(Effect.asVoid, Effect.mapError(failure("put"))),
    consume: (stateHash: string) =>
      dynamo
        .call("DeleteItem", (sdk) =>
          sdk.send(
            new DeleteItemCommand({
              TableName: dynamo.table,
              Key: key(stateHash),
              // Of two concurrent consumes only one may see the item: the other's condition fails. (DynamoDB Local
              // returned the old item to both without it.)
              ConditionExpression: "attribute_exists(pk)",
              ReturnValues: "ALL_OLD"
            })
          )
        )
        .pipe(
          Effect.map((output) => output.Attributes),
          Effect.catchIf(
            (error) => isConditionFailure(error.cause),
            () => Effect.succeed(undefined)
          ),
          Effect.map((item) => {
            if (item === undefined) return Option.none()
            return Option.some({
              stateHash,
              userId: item.user_id?.S as UserId,
              provider: item.provider?.S as ProviderId,
              createdAt: DateTime.makeUnsafe(Number(item.created_at?.N)),
              expiresAt: DateTime.makeUnsafe(Number(item.state_expires_at?.N))
            } satisfies PendingAuthorization)
          }),
          Effect.mapError(failure("consume"))
        )
  })
})

export const DynamoOAuthStateStore = {
  /** Needs a `DynamoDbClient`. */
  layer: Layer.effect(OAuthStateStore, makeDynamoOAuthStateStore)
} as const
