import { DEXCOM_REGIONS, dexcomConfig } from "@bg-ingest/adapters/dexcom"
import { decodeVariables, Strictness } from "@bg-ingest/adapters/environment"
import { loadAppConfig, startupSummary } from "@bg-ingest/runner"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger, Option, Redacted, Result } from "effect"

const base = {
  DEXCOM_CLIENT_ID: "client",
  DEXCOM_CLIENT_SECRET: "s3cret-value",
  DEXCOM_REDIRECT_URI: "https://bg.example/api/connections/dexcom/callback"
}

const dexcomSettingsFromEnvironment = (env: Record<string, string>, appEnv: "development" | "staging" | "production") =>
  decodeVariables(
    dexcomConfig({
      strictness: appEnv === "development" ? Strictness.development : Strictness.strict(`when APP_ENV is ${appEnv}`)
    }),
    env
  )

const problems = (env: Record<string, string>, appEnv: "development" | "staging" | "production") => {
  const result = dexcomSettingsFromEnvironment(env, appEnv)
  return Result.isFailure(result) ? result.failure : []
}

describe("Dexcom configuration", () => {
  it("in development: the sandbox by default, any URL allowed (a fake on loopback)", () => {
    const settings = Result.getOrThrow(dexcomSettingsFromEnvironment(base, "development"))
    assert.deepStrictEqual([settings.baseUrl, settings.region], [DEXCOM_REGIONS.sandbox, "sandbox"])
    assert.strictEqual(Redacted.value(settings.clientSecret), "s3cret-value")
    const local = Result.getOrThrow(
      dexcomSettingsFromEnvironment({ ...base, DEXCOM_API_BASE_URL: "http://127.0.0.1:9999/" }, "development")
    )
    assert.deepStrictEqual([local.baseUrl, local.region], ["http://127.0.0.1:9999", "custom"])
  })

  it("outside development: one of Dexcom's hosts, named by region, and an https redirect URI", () => {
    for (const [region, url] of Object.entries(DEXCOM_REGIONS)) {
      const settings = Result.getOrThrow(
        dexcomSettingsFromEnvironment({ ...base, DEXCOM_API_BASE_URL: `${url}/` }, "production")
      )
      assert.deepStrictEqual([settings.baseUrl, settings.region], [url, region])
    }
    const text = problems(
      { ...base, DEXCOM_API_BASE_URL: "http://127.0.0.1:9999", DEXCOM_REDIRECT_URI: "http://bg.example/cb" },
      "staging"
    ).join("\n")
    assert.include(text, "DEXCOM_API_BASE_URL must be one of")
    assert.include(text, "DEXCOM_REDIRECT_URI must be an https URL")
    assert.include(problems(base, "production").join("\n"), "DEXCOM_API_BASE_URL is required")
  })

  it("reports every problem at once and never a value", () => {
    const found = problems(
      { DEXCOM_CLIENT_SECRET: "s3cret-value", DEXCOM_REDIRECT_URI: "not a url", DEXCOM_MAX_CALLS_PER_HOUR: "lots" },
      "development"
    )
    assert.deepStrictEqual(found, [
      "DEXCOM_CLIENT_ID is required",
      "DEXCOM_REDIRECT_URI is not an absolute URL",
      "DEXCOM_MAX_CALLS_PER_HOUR must be a positive integer"
    ])
    assert.notInclude(found.join(), "s3cret")
    assert.include(
      problems({ ...base, DEXCOM_MAX_CALLS_PER_HOUR: "70000" }, "development").join(),
      "must not exceed Dexcom's limit of 60000"
    )
  })

  it("the application's call budget is the whole application's, whatever the number of replicas", () => {
    const one = Result.getOrThrow(dexcomSettingsFromEnvironment(base, "development"))
    assert.strictEqual(one.maxCallsPerHour, 48_000)
    // REPLICAS is gone: the budget is shared through the store, so the setting no longer divides it.
    const three = Result.getOrThrow(
      dexcomSettingsFromEnvironment({ ...base, DEXCOM_MAX_CALLS_PER_HOUR: "30000", REPLICAS: "3" }, "development")
    )
    assert.strictEqual(three.maxCallsPerHour, 30_000)
  })

  it("a development replica on a shared store with a generated token key is warned that others cannot read its tokens", () => {
    const shared = Result.getOrThrow(loadAppConfig({ ...base, DYNAMODB_ENDPOINT: "http://127.0.0.1:8000" }))
    assert.strictEqual(shared.store, "dynamodb")
    assert.strictEqual(shared.warnings.length, 1)
    assert.match(shared.warnings[0]!, /TOKEN_ENCRYPTION_KEY is not set/)
    assert.match(shared.warnings[0]!, /other replicas/)
    assert.match(shared.warnings[0]!, /Set the same TOKEN_ENCRYPTION_KEY on every replica/)
    // The start-up summary says it, as a warning.
    const logged: Array<{ readonly level: string; readonly message: unknown }> = []
    const capture = Logger.make((options) => {
      const message = Array.isArray(options.message) ? options.message[0] : options.message
      logged.push({ level: options.logLevel, message })
    })
    Effect.runSync(Layer.build(startupSummary(shared)).pipe(Effect.scoped, Effect.provide(Logger.layer([capture]))))
    assert.deepStrictEqual(
      logged.filter((line) => line.level === "Warn"),
      [{ level: "Warn", message: shared.warnings[0] }]
    )
    // With the key set, on SQLite (one process's file), or without a provider that keeps credentials: no warning.
    const key = Buffer.alloc(32, 7).toString("base64")
    for (const variables of [
      { ...base, DYNAMODB_ENDPOINT: "http://127.0.0.1:8000", TOKEN_ENCRYPTION_KEY: key },
      base,
      { DYNAMODB_ENDPOINT: "http://127.0.0.1:8000" }
    ]) {
      assert.deepStrictEqual(Result.getOrThrow(loadAppConfig(variables)).warnings, [])
    }
  })

  it("the service turns Dexcom on with DEXCOM_CLIENT_ID and checks TOKEN_ENCRYPTION_KEY", () => {
    const on = Result.getOrThrow(loadAppConfig(base))
    assert.deepStrictEqual(on.providers, ["simulator", "dexcom"])
    assert.strictEqual(on.providerSettings.dexcom?.clientId, "client")
    assert.isTrue(Option.isNone(on.tokenEncryptionKey))
    assert.isTrue(on.notes.some((note) => note.includes("token-encryption.key")))
    const off = Result.getOrThrow(loadAppConfig({}))
    assert.strictEqual(off.providerSettings.dexcom, null)
    const bad = loadAppConfig({ ...base, TOKEN_ENCRYPTION_KEY: "abc" })
    assert.isTrue(Result.isFailure(bad))
    if (Result.isFailure(bad)) {
      assert.deepStrictEqual(
        bad.failure.problems.map((problem) => problem.slice(0, 27)),
        ["TOKEN_ENCRYPTION_KEY must b"]
      )
    }
    const missing = loadAppConfig({ PROVIDERS: "dexcom" })
    assert.isTrue(Result.isFailure(missing))
  })
})
