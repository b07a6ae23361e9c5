import { afterAll, vi } from "@effect/vitest"
import { startDynalite } from "../../support/dynamodb.ts"
import { dynamoDbSuites } from "./suites.ts"

// dynalite has no transactions, so every reading is one conditional write; the contract's 90-day batch
// (25,920 readings) takes longer than the default timeout on this in-process server.
vi.setConfig({ testTimeout: 120_000 })

const server = await startDynalite()
afterAll(() => server.stop())

dynamoDbSuites("dynalite", () => server.endpoint)
