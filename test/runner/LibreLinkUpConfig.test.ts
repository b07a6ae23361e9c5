import { decodeVariables, Strictness } from "@bg-ingest/adapters/environment"
import { isLibreLinkUpOrigin, LIBRE_LINK_UP_REGIONS, libreLinkUpConfig } from "@bg-ingest/adapters/libre-link-up"
import { loadAppConfig } from "@bg-ingest/runner"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"

type AppEnv = "development" | "staging" | "production"

const decode = (env: Record<string, string>, appEnv: AppEnv) =>
  decodeVariables(
    libreLinkUpConfig({
      strictness: appEnv === "development" ? Strictness.development : Strictness.strict(`when APP_ENV is ${appEnv}`)
    }),
    env
  )

const problems = (env: Record<string, string>, appEnv: AppEnv) => {
  const result = decode(env, appEnv)
  return Result.isFailure(result) ? result.failure : []
}

const settings = (env: Record<string, string>, appEnv: AppEnv = "production") => Result.getOrThrow(decode(env, appEnv))

describe("LibreLinkUp configuration", () => {
  it("needs nothing: logins start at the global entry point, which redirects each account to its region", () => {
    assert.deepInclude(settings({}), {
      baseUrl: "https://api.libreview.io",
      allowAnyHost: false,
      product: "llu.android",
      version: "4.16.0"
    })
    assert.deepInclude(settings({ LIBRE_LINK_UP_REGION: " EU2 " }), { baseUrl: "https://api-eu2.libreview.io" })
    assert.deepInclude(settings({ LIBRE_LINK_UP_REGION: "ru" }), { baseUrl: "https://api.libreview.ru" })
    assert.deepInclude(settings({ LIBRE_LINK_UP_VERSION: "4.17.0" }), { version: "4.17.0" })
  })

  it("LIBRE_LINK_UP_BASE_URL: any http(s) server in development, only LibreView's https servers elsewhere", () => {
    assert.deepInclude(settings({ LIBRE_LINK_UP_BASE_URL: "http://127.0.0.1:9999/" }, "development"), {
      baseUrl: "http://127.0.0.1:9999",
      allowAnyHost: true
    })
    assert.deepInclude(settings({ LIBRE_LINK_UP_BASE_URL: "https://api-de.libreview.io/" }), {
      baseUrl: "https://api-de.libreview.io",
      allowAnyHost: false
    })
    for (const [url, appEnv] of [
      ["http://127.0.0.1:9999", "staging"],
      ["http://api-eu.libreview.io", "production"],
      ["https://api-eu.libreview.io.evil.example", "production"],
      ["https://libreview.io", "production"]
    ] as const) {
      assert.include(
        problems({ LIBRE_LINK_UP_BASE_URL: url }, appEnv).join(),
        `LIBRE_LINK_UP_BASE_URL must be an https LibreView server (https://api.libreview.io, https://api-<region>.libreview.io, ...) when APP_ENV is ${appEnv}`,
        url
      )
    }
  })

  it("names every problem, never a value", () => {
    const found = problems(
      {
        LIBRE_LINK_UP_REGION: "mars-s3cret",
        LIBRE_LINK_UP_BASE_URL: "https://user:s3cret@api.libreview.io",
        LIBRE_LINK_UP_VERSION: "latest-s3cret"
      },
      "development"
    )
    assert.deepStrictEqual(found, [
      "LIBRE_LINK_UP_REGION must be one of us, eu, eu2, de, fr, ca, au, ap, ae, jp, la, ru, cn",
      "LIBRE_LINK_UP_BASE_URL must be an http(s) URL without credentials, query or fragment",
      "LIBRE_LINK_UP_VERSION must be an app version such as 4.16.0"
    ])
    assert.notInclude(found.join(), "s3cret")
    assert.deepStrictEqual(
      problems({ LIBRE_LINK_UP_REGION: "eu", LIBRE_LINK_UP_BASE_URL: "https://api-eu.libreview.io" }, "production"),
      ["Set LIBRE_LINK_UP_REGION or LIBRE_LINK_UP_BASE_URL, not both: the base URL would override the region"]
    )
  })

  it("only LibreView's servers pass as a region's server outside development", () => {
    for (const origin of [...Object.values(LIBRE_LINK_UP_REGIONS), "https://api.libreview.io"]) {
      assert.isTrue(isLibreLinkUpOrigin(origin), origin)
    }
    for (const origin of [
      "http://api-eu.libreview.io",
      "https://api-eu.libreview.io:8443",
      "https://api-eu.libreview.io/path",
      "https://evil.example",
      "https://api-eu.libreview.io.evil.example",
      "https://x@api-eu.libreview.io",
      "not a url"
    ]) {
      assert.isFalse(isLibreLinkUpOrigin(origin), origin)
    }
  })

  it("the service: PROVIDERS=libre-link-up, checked with every other variable; its region turns it on in development", () => {
    const on = Result.getOrThrow(loadAppConfig({ LIBRE_LINK_UP_REGION: "eu" }))
    assert.deepStrictEqual(on.providers, ["simulator", "libre-link-up"])
    assert.strictEqual(on.providerSettings["libre-link-up"]?.baseUrl, "https://api-eu.libreview.io")
    assert.isTrue(on.notes.some((note) => note.includes("token-encryption.key")))
    assert.strictEqual(Result.getOrThrow(loadAppConfig({})).providerSettings["libre-link-up"], null)

    const refused = loadAppConfig({ PROVIDERS: "libre-link-up", PORT: "nope", LIBRE_LINK_UP_REGION: "mars" })
    assert.isTrue(Result.isFailure(refused))
    if (Result.isFailure(refused)) {
      assert.includeMembers(
        [...refused.failure.problems],
        [
          "LIBRE_LINK_UP_REGION must be one of us, eu, eu2, de, fr, ca, au, ap, ae, jp, la, ru, cn",
          "PORT must be an integer from 0 to 65535"
        ]
      )
    }

    const production = Result.getOrThrow(
      loadAppConfig({
        APP_ENV: "production",
        PROVIDERS: "libre-link-up,dexcom-share",
        DEXCOM_SHARE_REGION: "ous",
        RABBITMQ_URL: "amqps://rabbit",
        AWS_REGION: "us-east-1",
        WEBHOOK_SECRET: "whsec-0123456789abcdef",
        API_KEYS: "api-key-0123456789abcdef",
        TOKEN_ENCRYPTION_KEY: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
      })
    )
    assert.deepStrictEqual(production.providers, ["libre-link-up", "dexcom-share"])
    assert.deepInclude(production.providerSettings["libre-link-up"], {
      baseUrl: "https://api.libreview.io",
      allowAnyHost: false
    })
    const strict = loadAppConfig({
      APP_ENV: "production",
      PROVIDERS: "libre-link-up",
      LIBRE_LINK_UP_BASE_URL: "http://127.0.0.1:9999"
    })
    assert.isTrue(Result.isFailure(strict))
    if (Result.isFailure(strict)) {
      assert.isTrue(strict.failure.problems.some((problem) => problem.startsWith("LIBRE_LINK_UP_BASE_URL must be")))
    }
  })
})
