import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { runServiceToExit } from "../support/processes.ts"

// Staging and production refuse to start on anything but their adapters: these checks happen before any
// connection is made, so they need neither a broker nor a DynamoDB server.

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-production-rules-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const PRODUCTION_SECRETS = {
  WEBHOOK_SECRET: "prod-webhook-secret-0c1d2e3f4a5b",
  API_KEYS: "prod-api-key-9a8b7c6d5e4f3a2b",
  TOKEN_ENCRYPTION_KEY: "Jc0S9m0V7+5m4f3sYb0tq3XzX9cXcS2m3JtRk4d0a1Q=",
  DEXCOM_CLIENT_SECRET: "prod-dexcom-client-secret-77"
}

/** Everything production needs, valid; the broker's port is closed, so nothing would ever connect. */
const complete = {
  DATA_DIR: dataDir,
  RABBITMQ_URL: "amqp://guest:guest@127.0.0.1:9",
  AWS_REGION: "eu-west-1",
  DYNAMODB_TABLE: "bg_readings_rules",
  DEXCOM_CLIENT_ID: "prod-client-id",
  DEXCOM_REDIRECT_URI: "https://bg.example.com/api/connections/dexcom/callback",
  DEXCOM_API_BASE_URL: "https://api.dexcom.eu",
  ...PRODUCTION_SECRETS
}

/** The problems a refusal lists, one per line, in alphabetical order (the order they are listed in is not a rule). */
const problemsOf = (output: string) =>
  output
    .split("\n")
    .filter((line) => line.startsWith("  - "))
    .map((line) => line.slice(4))
    .sort()

const refused = (env: Record<string, string>) => {
  const { status, stdout, stderr } = runServiceToExit(env)
  const output = `${stdout}${stderr}`
  assert.strictEqual(status, 1, output)
  assert.isTrue(output.trim().startsWith("bg-ingest cannot start."), output)
  for (const secret of Object.values(PRODUCTION_SECRETS)) assert.notInclude(output, secret)
  assert.notInclude(output, "    at ")
  return problemsOf(output)
}

describe("staging and production refuse what is only for development", () => {
  for (const appEnv of ["staging", "production"]) {
    it(`${appEnv}: STORE must be dynamodb, EVENTS rabbitmq, no simulator and no demo users`, () => {
      assert.deepStrictEqual(
        refused({
          ...complete,
          APP_ENV: appEnv,
          STORE: "sqlite",
          EVENTS: "memory",
          PROVIDERS: "dexcom,simulator",
          DEMO_USERS: "demo-1"
        }),
        [
          `DEMO_USERS is for development, not ${appEnv}`,
          `EVENTS must be rabbitmq when APP_ENV=${appEnv}`,
          `PROVIDERS must not list simulator when APP_ENV=${appEnv}: it makes readings up`,
          `STORE must be dynamodb when APP_ENV=${appEnv}`
        ]
      )
      assert.deepStrictEqual(refused({ ...complete, APP_ENV: appEnv, STORE: "memory" }), [
        `STORE must be dynamodb when APP_ENV=${appEnv}`
      ])
    })
  }

  it("a missing or broken setting: one message naming every problem and no secret", () => {
    const problems = refused({
      DATA_DIR: dataDir,
      APP_ENV: "production",
      ...PRODUCTION_SECRETS,
      API_KEYS: "short",
      RABBITMQ_URL: "http://not-amqp",
      DEXCOM_API_BASE_URL: "http://127.0.0.1:9/"
    }).join("\n")
    for (const expected of [
      "AWS_REGION is required",
      "API_KEYS must be",
      "RABBITMQ_URL must be a URL starting with amqp:// or amqps://",
      "DEXCOM_CLIENT_ID is required",
      "DEXCOM_REDIRECT_URI is required",
      "DEXCOM_API_BASE_URL"
    ]) {
      assert.include(problems, expected)
    }
  })
})
