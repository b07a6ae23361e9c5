import { DEXCOM_SHARE_REGIONS, dexcomShareConfig } from "@bg-ingest/adapters/dexcom-share"
import { decodeVariables, Strictness } from "@bg-ingest/adapters/environment"
import { loadAppConfig } from "@bg-ingest/runner"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"

const dexcomShareSettingsFromEnvironment = (
  env: Record<string, string>,
  appEnv: "development" | "staging" | "production"
) =>
  decodeVariables(
    dexcomShareConfig({
      strictness: appEnv === "development" ? Strictness.development : Strictness.strict(`when APP_ENV is ${appEnv}`)
    }),
    env
  )

const problems = (env: Record<string, string>, appEnv: "development" | "staging" | "production") => {
  const result = dexcomShareSettingsFromEnvironment(env, appEnv)
  return Result.isFailure(result) ? result.failure : []
}

const settings = (env: Record<string, string>, appEnv: "development" | "staging" | "production" = "production") =>
  Result.getOrThrow(dexcomShareSettingsFromEnvironment(env, appEnv))

describe("Dexcom Share configuration", () => {
  it("DEXCOM_SHARE_REGION picks the server and its application id; Japan's differs", () => {
    assert.deepInclude(settings({ DEXCOM_SHARE_REGION: "us" }), {
      region: "us",
      baseUrl: "https://share2.dexcom.com",
      applicationId: "d89443d2-327c-4a6f-89e5-496bbb0317db"
    })
    assert.deepInclude(settings({ DEXCOM_SHARE_REGION: "OUS" }), {
      region: "ous",
      baseUrl: "https://shareous1.dexcom.com",
      applicationId: "d89443d2-327c-4a6f-89e5-496bbb0317db"
    })
    assert.deepInclude(settings({ DEXCOM_SHARE_REGION: " jp " }), {
      region: "jp",
      baseUrl: "https://share.dexcom.jp",
      applicationId: "d8665ade-9673-4e27-9ff6-92db4ce13d13"
    })
  })

  it("DEXCOM_SHARE_BASE_URL overrides the server: anything in development, only Share's hosts elsewhere", () => {
    assert.deepInclude(
      settings({ DEXCOM_SHARE_REGION: "jp", DEXCOM_SHARE_BASE_URL: "http://127.0.0.1:9999/" }, "development"),
      {
        region: "jp",
        baseUrl: "http://127.0.0.1:9999",
        applicationId: DEXCOM_SHARE_REGIONS.jp.applicationId
      }
    )
    // A Share host names its region by itself.
    assert.deepInclude(settings({ DEXCOM_SHARE_BASE_URL: "https://shareous1.dexcom.com/" }), { region: "ous" })
    assert.include(
      problems({ DEXCOM_SHARE_REGION: "us", DEXCOM_SHARE_BASE_URL: "http://127.0.0.1:9999" }, "staging").join(),
      "DEXCOM_SHARE_BASE_URL must be one of https://share2.dexcom.com, https://shareous1.dexcom.com, https://share.dexcom.jp"
    )
    assert.deepStrictEqual(problems({ DEXCOM_SHARE_BASE_URL: "http://127.0.0.1:9999" }, "development"), [
      "DEXCOM_SHARE_REGION is required with a DEXCOM_SHARE_BASE_URL that is not a Share host"
    ])
  })

  it("names every problem, never a value, and never guesses a region", () => {
    assert.deepStrictEqual(problems({}, "development"), [
      "DEXCOM_SHARE_REGION is required with the dexcom-share provider (us, ous, jp: the region of the users' Dexcom accounts)"
    ])
    const found = problems(
      { DEXCOM_SHARE_REGION: "eu-s3cret", DEXCOM_SHARE_BASE_URL: "ftp://s3cret.example" },
      "development"
    )
    assert.deepStrictEqual(found, [
      "DEXCOM_SHARE_REGION must be one of us, ous, jp",
      "DEXCOM_SHARE_BASE_URL must be an http(s) URL"
    ])
    assert.notInclude(found.join(), "s3cret")
  })

  it("the service: PROVIDERS=dexcom-share, checked with every other variable; DEXCOM_SHARE_REGION turns it on in development", () => {
    const on = Result.getOrThrow(loadAppConfig({ DEXCOM_SHARE_REGION: "ous" }))
    assert.deepStrictEqual(on.providers, ["simulator", "dexcom-share"])
    assert.strictEqual(on.providerSettings["dexcom-share"]?.baseUrl, "https://shareous1.dexcom.com")
    assert.strictEqual(on.providerSettings.dexcom, null)
    assert.isTrue(on.notes.some((note) => note.includes("token-encryption.key")))
    assert.strictEqual(Result.getOrThrow(loadAppConfig({})).providerSettings["dexcom-share"], null)

    const refused = loadAppConfig({ PROVIDERS: "dexcom-share", PORT: "nope", DEXCOM_SHARE_REGION: "mars" })
    assert.isTrue(Result.isFailure(refused))
    if (Result.isFailure(refused)) {
      assert.deepStrictEqual(refused.failure.problems, [
        "DEXCOM_SHARE_REGION must be one of us, ous, jp",
        "PORT must be an integer from 0 to 65535"
      ])
    }

    const production = Result.getOrThrow(
      loadAppConfig({
        APP_ENV: "production",
        PROVIDERS: "dexcom-share",
        DEXCOM_SHARE_REGION: "us",
        RABBITMQ_URL: "amqps://rabbit",
        AWS_REGION: "us-east-1",
        WEBHOOK_SECRET: "whsec-0123456789abcdef",
        API_KEYS: "api-key-0123456789abcdef",
        TOKEN_ENCRYPTION_KEY: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      })
    )
    assert.deepStrictEqual(production.providers, ["dexcom-share"])
    assert.deepInclude(production.providerSettings["dexcom-share"], {
      region: "us",
      baseUrl: "https://share2.dexcom.com"
    })
    assert.strictEqual(production.providerSettings.dexcom, null, "no Dexcom API application is needed for Share alone")
  })
})
