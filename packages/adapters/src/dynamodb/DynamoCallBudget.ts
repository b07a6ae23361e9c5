import { UpdateItemCommand } from "@aws-sdk/client-dynamodb"
import { type BudgetTake, CallBudget, CallBudgetError } from "@bg-ingest/domain"
import { DateTime, Effect, Layer } from "effect"
import { DynamoDbClient } from "./DynamoDbClient.ts"
import { type DynamoFailure, describeFailure, whenConditionFails } from "./DynamoErrors.ts"
import { Attr, BUDGET_PREFIX, BUDGET_WINDOW_PREFIX } from "./TableLayout.ts"

/** A window's item outlives the window by this long (the table's TTL removes it, where TTL is on). */
const KEEP_AFTER_WINDOW_SECONDS = 24 * 60 * 60

const toCallBudgetError = (failure: DynamoFailure) =>
  new CallBudgetError({ operation: "take", message: describeFailure(failure), cause: failure.cause })

/**
 * The call budget on the readings table: one item per key and window, counted by a conditional `ADD`, so that
 * any number of replicas together never count past the limit. A take whose answer was lost and that the SDK
 * sends again may count twice: the budget then allows fewer calls, never more.
 */
export const makeDynamoCallBudget = Effect.gen(function* () {
  const dynamo = yield* DynamoDbClient
  const { table } = dynamo

  const take = Effect.fn("DynamoCallBudget.take")(function* ({ key, window, limit, calls }: BudgetTake) {
    if (calls > limit) return false
    const start = DateTime.toEpochMillis(window.from)
    const end = DateTime.toEpochMillis(window.to)
    return yield* dynamo
      .call("UpdateItem", (sdk) =>
        sdk.send(
          new UpdateItemCommand({
            TableName: table,
            Key: {
              [Attr.pk]: { S: `${BUDGET_PREFIX}${key}` },
              [Attr.sk]: { S: `${BUDGET_WINDOW_PREFIX}${start}` }
            },
            UpdateExpression: `ADD ${Attr.budgetCalls} :calls SET ${Attr.windowEnd} = :end, ${Attr.expiresAt} = :expires`,
            ConditionExpression: `attribute_not_exists(${Attr.budgetCalls}) OR ${Attr.budgetCalls} <= :most`,
            ExpressionAttributeValues: {
              ":calls": { N: String(calls) },
              ":most": { N: String(limit - calls) },
              ":end": { N: String(end) },
              ":expires": { N: String(Math.ceil(end / 1000) + KEEP_AFTER_WINDOW_SECONDS) }
            }
          })
        )
      )
      .pipe(Effect.as(true), whenConditionFails(false))
  }, Effect.mapError(toCallBudgetError))

  return CallBudget.of({ take })
})

export const DynamoCallBudget = {
  /** Needs a `DynamoDbClient`. */
  layer: Layer.effect(CallBudget, makeDynamoCallBudget)
} as const
