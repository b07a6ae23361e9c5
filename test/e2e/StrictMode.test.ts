import { execFileSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { loadAppConfig } from "@bg-ingest/runner"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { Result } from "effect"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-strict-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
const REPOSITORY = new URL("../../", import.meta.url).pathname

const SECRETS = {
  WEBHOOK_SECRET: "strict-webhook-secret-0c1d2e3f",
  API_KEYS: "strict-api-key-9a8b7c6d5e4f",
  TOKEN_ENCRYPTION_KEY: "Jc0S9m0V7+5m4f3sYb0tq3XzX9cXcS2m3JtRk4d0a1Q=",
  DEXCOM_CLIENT_SECRET: "strict-dexcom-client-secret-77"
}

const production = {
  APP_ENV: "production",
  AWS_REGION: "eu-west-1",
  DEXCOM_CLIENT_ID: "client",
  DEXCOM_REDIRECT_URI: "https://bg.example.com/api/connections/dexcom/callback",
  DEXCOM_API_BASE_URL: "https://api.dexcom.eu",
  ...SECRETS
}

/** Starts the real process and expects it to refuse: exit code 1 and what it printed. */
const refusal = (env: Record<string, string>) => {
  try {
    execFileSync(process.execPath, ["--conditions=@bg-ingest/source", "packages/runner/bin/bg-ingest.mjs"], {
      cwd: REPOSITORY,
      env: { PATH: process.env.PATH ?? "", DATA_DIR: dataDir, ...env },
      stdio: "pipe",
      timeout: 30_000
    })
  } catch (error) {
    const failure = error as { status: number; stderr: Buffer; stdout: Buffer }
    return { status: failure.status, output: `${failure.stdout}${failure.stderr}` }
  }
  return { status: 0, output: "" }
}

describe("strict mode (staging, production) refuses insecure transports and development-only providers", () => {
  it("the process refuses to start, naming each, and never printing a secret", () => {
    const { status, output } = refusal({
      ...production,
      PROVIDERS: "dexcom,simulator",
      RABBITMQ_URL: "amqp://guest:guest@rabbit.example.com:5672",
      DYNAMODB_ENDPOINT: "http://dynamodb.example.com:8000"
    })
    assert.strictEqual(status, 1, output)
    for (const expected of [
      "PROVIDERS must not list simulator when APP_ENV=production",
      "RABBITMQ_URL must be amqps:// (TLS) for a broker that is not on this machine when APP_ENV is production",
      "DYNAMODB_ENDPOINT must be https:// for a host that is not this machine when APP_ENV is production"
    ]) {
      assert.include(output, expected)
    }
    for (const secret of [...Object.values(SECRETS), "guest:guest"]) assert.notInclude(output, secret)
  }, 60_000)

  it("staging too; TLS, and plain text on this machine, are accepted; development accepts all of it", () => {
    const problems = (variables: Record<string, string>) => {
      const loaded = loadAppConfig(variables)
      return Result.isFailure(loaded) ? loaded.failure.problems : []
    }
    const insecure = {
      PROVIDERS: "dexcom,simulator",
      RABBITMQ_URL: "amqp://guest:guest@10.0.0.7:5672",
      DYNAMODB_ENDPOINT: "http://[fd00::7]:8000"
    }
    assert.lengthOf(problems({ ...production, APP_ENV: "staging", ...insecure }), 3)
    assert.deepStrictEqual(
      problems({
        ...production,
        RABBITMQ_URL: "amqps://user:secret@rabbit.example.com:5671",
        DYNAMODB_ENDPOINT: "https://dynamodb.eu-west-1.amazonaws.com"
      }),
      []
    )
    for (const local of ["127.0.0.1", "localhost", "[::1]", "127.1.2.3"]) {
      assert.deepStrictEqual(
        problems({
          ...production,
          RABBITMQ_URL: `amqp://guest:guest@${local}:5672`,
          DYNAMODB_ENDPOINT: `http://${local}:8000`
        }),
        [],
        local
      )
    }
    const { APP_ENV: _, AWS_REGION: __, ...rest } = production
    assert.deepStrictEqual(problems({ ...rest, ...insecure }), [])
  })
})
