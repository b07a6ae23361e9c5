import { fromVariables } from "@bg-ingest/adapters/environment"
import { loadConfiguration as loadFrom } from "@bg-ingest/runner"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Cause, Effect, Exit } from "effect"
import { startFakeSecretsManager } from "../fakes/FakeSecretsManager.ts"

let fake: Awaited<ReturnType<typeof startFakeSecretsManager>>
const SECRET_VALUES = {
  WEBHOOK_SECRET: "from-secret-webhook-0123456789",
  API_KEYS: "from-secret-api-key-0123456789",
  PORT: "6001"
}

beforeAll(async () => {
  fake = await startFakeSecretsManager({
    "bg-ingest/secrets": JSON.stringify(SECRET_VALUES),
    "bg-ingest/not-json": "WEBHOOK_SECRET=abc",
    "bg-ingest/not-an-object": JSON.stringify(["a", "b"])
  })
})
afterAll(() => fake.close())

const loadConfiguration = (variables: Record<string, string>) => loadFrom(fromVariables(variables))

const baseEnv = () => ({
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
  AWS_ENDPOINT_URL_SECRETS_MANAGER: fake.endpoint
})

const failureMessage = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit))
  const error = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
  return error instanceof Error ? error.message : String(error)
}

describe("configuration from AWS Secrets Manager", () => {
  it.live("SECRET_NAME: the secret's variables are read before validation, and environment variables win", () =>
    Effect.gen(function* () {
      const config = yield* loadConfiguration({ ...baseEnv(), SECRET_NAME: "bg-ingest/secrets", PORT: "7001" })
      assert.strictEqual(config.port, 7001)
      assert.strictEqual(config.webhookSecrets.length, 1)
      assert.strictEqual(config.apiKeys.length, 1)
      const note = config.notes.find((line) => line.includes("bg-ingest/secrets"))!
      assert.include(note, "API_KEYS, WEBHOOK_SECRET")
      assert.notInclude(note, "PORT")
      assert.notInclude(JSON.stringify(config.notes), SECRET_VALUES.WEBHOOK_SECRET)
      assert.deepStrictEqual(fake.requests.at(-1), {
        target: "secretsmanager.GetSecretValue",
        secretId: "bg-ingest/secrets"
      })
    })
  )

  it.live("a variable given blank locally is filled from the secret", () =>
    Effect.gen(function* () {
      const config = yield* loadConfiguration({ ...baseEnv(), SECRET_NAME: "bg-ingest/secrets", API_KEYS: " " })
      assert.strictEqual(config.apiKeys.length, 1)
      assert.include(config.notes.find((line) => line.includes("bg-ingest/secrets")) ?? "", "API_KEYS")
    })
  )

  it.live("a missing secret or one that is not a JSON object is one clear start-up error", () =>
    Effect.gen(function* () {
      const missing = failureMessage(yield* Effect.exit(loadConfiguration({ ...baseEnv(), SECRET_NAME: "nope" })))
      assert.strictEqual(missing, "Cannot read the secret nope from AWS Secrets Manager: it does not exist")
      for (const name of ["bg-ingest/not-json", "bg-ingest/not-an-object"]) {
        const message = failureMessage(yield* Effect.exit(loadConfiguration({ ...baseEnv(), SECRET_NAME: name })))
        assert.include(message, "must be a JSON object")
        assert.notInclude(message, "abc")
      }
    })
  )

  it.live("production with values from the secret still validates everything together", () =>
    Effect.gen(function* () {
      const message = failureMessage(
        yield* Effect.exit(loadConfiguration({ ...baseEnv(), APP_ENV: "production", SECRET_NAME: "bg-ingest/secrets" }))
      )
      assert.include(message, "RABBITMQ_URL is required")
      assert.include(message, "TOKEN_ENCRYPTION_KEY is required")
      assert.notInclude(message, "WEBHOOK_SECRET is required")
      assert.notInclude(message, SECRET_VALUES.API_KEYS)
    })
  )

  it.live("outside development the secret is never read over plain http from another machine", () =>
    Effect.gen(function* () {
      const requestsBefore = fake.requests.length
      const message = failureMessage(
        yield* Effect.exit(
          loadConfiguration({
            ...baseEnv(),
            APP_ENV: "production",
            SECRET_NAME: "bg-ingest/secrets",
            AWS_ENDPOINT_URL_SECRETS_MANAGER: "http://secrets.example.com:4566"
          })
        )
      )
      assert.include(message, "AWS_ENDPOINT_URL_SECRETS_MANAGER (or AWS_ENDPOINT_URL) must be https://")
      assert.strictEqual(fake.requests.length, requestsBefore)
    })
  )
})
