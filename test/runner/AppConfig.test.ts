import { dotEnvProvider, loadAppConfig } from "@bg-ingest/runner"
import { assert, describe, it } from "@effect/vitest"
import { type ConfigProvider, Duration, Effect, Result } from "effect"

/** Every variable a `.env` file defines, as the service reads it (names are split at `_` by the provider). */
const parseDotEnv = (text: string): Record<string, string> => {
  const provider = dotEnvProvider(text)
  const variables: Record<string, string> = {}
  const visit = (path: ConfigProvider.Path) => {
    const node = Effect.runSync(provider.load(path))
    if (node === undefined) return
    if (node.value !== undefined) variables[path.join("_")] = node.value
    if (node._tag === "Record") for (const key of node.keys) visit([...path, key])
  }
  visit([])
  return variables
}

const problemsOf = (env: Record<string, string | undefined>) => {
  const result = loadAppConfig(env)
  assert.isTrue(Result.isFailure(result), "expected the configuration to be refused")
  return Result.isFailure(result) ? result.failure.problems : []
}

describe("configuration", () => {
  it("development with nothing set: SQLite, in-process events, the simulator and its demo users", () => {
    const result = loadAppConfig({})
    assert.isTrue(Result.isSuccess(result))
    if (!Result.isSuccess(result)) return
    const config = result.success
    assert.deepStrictEqual(
      [config.appEnv, config.port, config.host, config.store, config.events, config.dataDir],
      ["development", 5001, "127.0.0.1", "sqlite", "memory", "./data"]
    )
    assert.deepStrictEqual(config.providers, ["simulator"])
    assert.deepStrictEqual([...config.demoUsers], ["demo-1", "demo-2", "demo-3"])
    assert.strictEqual(Duration.toSeconds(config.pollInterval), 900)
    assert.strictEqual(config.logFormat, "pretty")
    assert.strictEqual(config.notes.length, 5)
  })

  it("DEMO_USERS= (empty) turns the demo users off", () => {
    const result = loadAppConfig({ DEMO_USERS: "" })
    assert.isTrue(Result.isSuccess(result) && result.success.demoUsers.length === 0)
  })

  it("setting DYNAMODB_ENDPOINT or RABBITMQ_URL switches to the real adapters", () => {
    const result = loadAppConfig({ DYNAMODB_ENDPOINT: "http://127.0.0.1:8000", RABBITMQ_URL: "amqp://localhost" })
    assert.isTrue(Result.isSuccess(result))
    if (Result.isSuccess(result))
      assert.deepStrictEqual([result.success.store, result.success.events], ["dynamodb", "rabbitmq"])
  })

  it("every invalid variable is reported at once, by name, without its value", () => {
    const problems = problemsOf({
      PORT: "not-a-port-s3cr3t",
      POLL_INTERVAL_SECONDS: "0",
      STORE: "postgres",
      LOG_FORMAT: "xml",
      PROVIDERS: "simulator,libre",
      DEMO_USERS: "ok,not ok"
    })
    const text = problems.join("\n")
    for (const name of ["PORT", "POLL_INTERVAL_SECONDS", "STORE", "LOG_FORMAT", "PROVIDERS", "DEMO_USERS"]) {
      assert.include(text, name)
    }
    assert.notInclude(text, "s3cr3t")
    assert.strictEqual(problems.length, 6)
  })

  it("the scheduler's lease and sync timeout: defaults, and the lease must outlive the sync", () => {
    const defaults = loadAppConfig({})
    assert.isTrue(Result.isSuccess(defaults))
    if (Result.isSuccess(defaults)) {
      assert.deepStrictEqual(
        [Duration.toSeconds(defaults.success.schedulerLease), Duration.toSeconds(defaults.success.syncTimeout)],
        [900, 600]
      )
    }
    const set = loadAppConfig({ SCHEDULER_LEASE_SECONDS: "120", SCHEDULER_SYNC_TIMEOUT_SECONDS: "90" })
    assert.isTrue(Result.isSuccess(set))
    if (Result.isSuccess(set)) {
      assert.deepStrictEqual(
        [Duration.toSeconds(set.success.schedulerLease), Duration.toSeconds(set.success.syncTimeout)],
        [120, 90]
      )
    }
    for (const [lease, timeout] of [
      ["600", "600"],
      ["300", undefined],
      [undefined, "900"]
    ] as const) {
      // Reported with every other problem, naming both variables.
      const problems = problemsOf({
        SCHEDULER_LEASE_SECONDS: lease,
        SCHEDULER_SYNC_TIMEOUT_SECONDS: timeout,
        PORT: "-1"
      })
      assert.strictEqual(problems.length, 2)
      assert.match(problems.join("\n"), /SCHEDULER_LEASE_SECONDS must be greater than SCHEDULER_SYNC_TIMEOUT_SECONDS/)
    }
    const outOfRange = problemsOf({ SCHEDULER_LEASE_SECONDS: "5", SCHEDULER_SYNC_TIMEOUT_SECONDS: "soon" })
    assert.deepStrictEqual(outOfRange, [
      "SCHEDULER_LEASE_SECONDS must be an integer from 30 to 86400",
      "SCHEDULER_SYNC_TIMEOUT_SECONDS must be an integer from 10 to 86400"
    ])
  })

  it("production is strict: it names every missing requirement together", () => {
    const problems = problemsOf({ APP_ENV: "production", WEBHOOK_SECRET: "whsec-do-not-print" }).join("\n")
    for (const name of [
      "RABBITMQ_URL",
      "AWS_REGION",
      "DEXCOM_CLIENT_ID",
      "DEXCOM_CLIENT_SECRET",
      "DEXCOM_REDIRECT_URI",
      "DEXCOM_API_BASE_URL",
      "API_KEYS",
      "TOKEN_ENCRYPTION_KEY"
    ]) {
      assert.include(problems, name)
    }
    assert.notInclude(problems, "WEBHOOK_SECRET is required")
    assert.notInclude(problems, "whsec-do-not-print")
  })

  it("parses .env files: comments, quotes, export, and no interpolation", () => {
    const parsed = parseDotEnv(
      [
        "# a comment",
        "PORT=5002",
        "export APP_ENV=development",
        'QUOTED="a value # not a comment"',
        "SINGLE='$NOT_EXPANDED'",
        "TRAILING=value # a comment",
        "EMPTY=",
        "not a line"
      ].join("\n")
    )
    assert.deepStrictEqual(parsed, {
      PORT: "5002",
      APP_ENV: "development",
      QUOTED: "a value # not a comment",
      SINGLE: "$NOT_EXPANDED",
      TRAILING: "value",
      EMPTY: ""
    })
  })
})
