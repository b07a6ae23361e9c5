import { ReadingStore } from "@bg-ingest/domain"
import { Effect, Layer } from "effect"
import { makeReadingOutbox } from "./ReadingOutbox.ts"
import { makeReadingQueries } from "./ReadingQueries.ts"
import { makeReadingTable } from "./ReadingTable.ts"
import { makeReadingWrites } from "./ReadingWrites.ts"

/**
 * `ReadingStore` on one DynamoDB table (docs/dynamodb.md): writes (`ReadingWrites.ts`), the pending-event outbox
 * kept on each item (`ReadingOutbox.ts`) and queries (`ReadingQueries.ts`), sharing one `ReadingTable`.
 */
export const makeDynamoReadingStore = Effect.map(makeReadingTable, (readingTable) =>
  ReadingStore.of({
    ...makeReadingWrites(readingTable),
    ...makeReadingOutbox(readingTable),
    ...makeReadingQueries(readingTable)
  })
)

export const DynamoReadingStore = {
  /** Needs a `DynamoDbClient`. */
  layer: Layer.effect(ReadingStore, makeDynamoReadingStore)
} as const
