import { decodeVariables, Strictness } from "@bg-ingest/adapters/environment"
import { developmentSitePolicy, nightscoutConfig, strictSitePolicy } from "@bg-ingest/adapters/nightscout"
import { loadAppConfig } from "@bg-ingest/runner"
import { assert, describe, it } from "@effect/vitest"
import { Result } from "effect"

const policyOf = (strictness: Strictness, variables: Record<string, string> = {}) =>
  Result.getOrThrow(decodeVariables(nightscoutConfig({ strictness }), variables)).policy

describe("nightscout configuration", () => {
  it("development may call plain http and loopback (a fake site); strict modes only public https sites", () => {
    assert.deepStrictEqual(policyOf(Strictness.development), developmentSitePolicy)
    assert.deepStrictEqual(policyOf(Strictness.strict("when APP_ENV is production")), strictSitePolicy)
    assert.deepStrictEqual(strictSitePolicy, { allowHttp: false, allowPrivateAddresses: false })
  })

  it("no variable can open the private network outside development", () => {
    const strict = Strictness.strict("when APP_ENV is staging")
    for (const variables of [
      { NIGHTSCOUT_ALLOW_PRIVATE_ADDRESSES: "true" },
      { NIGHTSCOUT_ALLOW_HTTP: "1" },
      { APP_ENV: "development" }
    ]) {
      assert.deepStrictEqual(policyOf(strict, variables), strictSitePolicy)
    }
  })

  it("PROVIDERS turns it on; it is off otherwise, even in development", () => {
    const on = loadAppConfig({ PROVIDERS: "simulator,nightscout" })
    assert.isTrue(Result.isSuccess(on))
    if (Result.isSuccess(on)) {
      assert.deepStrictEqual(on.success.providers, ["simulator", "nightscout"])
      assert.deepStrictEqual(on.success.providerSettings.nightscout?.policy, developmentSitePolicy)
    }
    const off = loadAppConfig({})
    assert.isTrue(Result.isSuccess(off) && !off.success.providers.includes("nightscout"))
  })
})
