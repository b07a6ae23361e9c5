import { afterAll, describe } from "@effect/vitest"
import { reportSkip, startDynamoDbContainer } from "../../support/dynamodb.ts"
import { dynamoDbSuites } from "./suites.ts"

// DynamoDB Local's container image, when a container runtime is reachable; skipped (with the reason) otherwise.
const server = await startDynamoDbContainer()
reportSkip("DynamoDB Local container (testcontainers)", server)
afterAll(() => (server.available ? server.stop() : undefined))

const suite = server.available ? describe.concurrent : describe.skip
suite("DynamoDB Local container", () => {
  dynamoDbSuites("DynamoDB Local container", () => (server.available ? server.endpoint : ""))
})
