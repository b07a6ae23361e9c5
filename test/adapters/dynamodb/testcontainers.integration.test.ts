import { afterAll } from "@effect/vitest"
import { availabilityOf, startDynamoDbContainer } from "../../support/dynamodb.ts"
import { describeNeeding } from "../../support/needs.ts"
import { dynamoDbSuites } from "./suites.ts"

// DynamoDB Local's container image, when a container runtime is reachable (testcontainers decides).
const server = await startDynamoDbContainer()
afterAll(() => (server.available ? server.stop() : undefined))

describeNeeding(
  "docker",
  availabilityOf(server),
  "DynamoDB Local container",
  () => dynamoDbSuites("DynamoDB Local container", () => (server.available ? server.endpoint : "")),
  { concurrent: true }
)
