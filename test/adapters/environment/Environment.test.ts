import * as Environment from "@bg-ingest/adapters/environment"
import { assert, describe, it } from "@effect/vitest"
import { Config, Option, Redacted, Result } from "effect"

const part = Environment.all({
  port: Environment.withDefault("PORT", Environment.integer({ min: 0, max: 65_535 }), 5001),
  name: Environment.required("NAME", Environment.anyText),
  mode: Environment.optional("MODE", Environment.literal(["fast", "safe"])),
  token: Environment.optional("TOKEN", Environment.secretText),
  demo: Environment.isGiven("DEMO"),
  demoSet: Environment.isSet("DEMO")
})

describe("a part of the environment", () => {
  it("decodes every variable, with defaults for the unset and blank ones", () => {
    const decoded = Result.getOrThrow(
      Environment.decodeVariables(part, { PORT: " ", NAME: " bg ", MODE: "safe", TOKEN: "t0k3n", DEMO: "" })
    )
    assert.deepStrictEqual([decoded.port, decoded.name, decoded.mode], [5001, "bg", Option.some("safe")])
    assert.strictEqual(Redacted.value(Option.getOrThrow(decoded.token)), "t0k3n")
    assert.deepStrictEqual([decoded.demo, decoded.demoSet], [true, false])
  })

  it("names every problem of every variable, in order, and never a value", () => {
    const problems = Environment.decodeVariables(part, { PORT: "70000-s3cret", MODE: "s3cret-mode" })
    assert.deepStrictEqual(Result.isFailure(problems) ? problems.failure : [], [
      "PORT must be an integer from 0 to 65535",
      "NAME is required",
      "MODE must be one of fast, safe"
    ])
  })

  it("runs rules across variables only once the part decoded, and reports what they find", () => {
    const ruled = part.pipe(
      Environment.check(({ port, mode }) =>
        port < 1024 && Option.isSome(mode) ? ["PORT must be at least 1024 with MODE"] : []
      )
    )
    const refused = Environment.decodeVariables(ruled, { PORT: "80", NAME: "n", MODE: "fast" })
    assert.deepStrictEqual(Result.isFailure(refused) ? refused.failure : [], ["PORT must be at least 1024 with MODE"])
    const broken = Environment.decodeVariables(ruled, { PORT: "80", MODE: "fast" })
    assert.deepStrictEqual(Result.isFailure(broken) ? broken.failure : [], ["NAME is required"])
  })

  it("collects the problems of nested parts and of parts written with Effect's own constructors", () => {
    const whole = Environment.all({ part, retries: Config.Int("RETRIES") })
    const problems = Environment.decodeVariables(whole, { NAME: "n", MODE: "slow", RETRIES: "many" })
    const lines = Result.isFailure(problems) ? problems.failure : []
    assert.strictEqual(lines.length, 2)
    assert.strictEqual(lines[0], "MODE must be one of fast, safe")
    assert.match(lines[1]!, /^RETRIES: /)
    assert.notInclude(lines[1]!, "many")
  })
})
