import { makeCallBudget, makeDexcomClient, makeDexcomSettings, makeInMemoryCallBudget } from "@bg-ingest/adapters"
import { ProviderId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Redacted } from "effect"
import { HttpClientRequest } from "effect/http"
import { TestClock } from "effect/testing"
import { type Scripted, scriptedHttpClient } from "../../support/scriptedHttpClient.ts"

const provider = ProviderId.make("dexcom")
const settings = makeDexcomSettings({
  clientId: "id",
  clientSecret: Redacted.make("secret"),
  redirectUri: "https://app.example/callback",
  baseUrl: "https://api.dexcom.com",
  retries: 3,
  retryBaseDelay: Duration.millis(500),
  requestTimeout: Duration.seconds(10),
  maxCallsPerHour: 36_000,
  burst: 100
})

/** Sends one request against a script, letting `advance` of test time pass; answers the exit and the calls. */
const run = (script: ReadonlyArray<Scripted>, advance: Duration.Input = "1 hour", sends = 1) =>
  Effect.gen(function* () {
    const http = scriptedHttpClient(script)
    const budget = yield* makeCallBudget({ provider, callsPerHour: 36_000, burst: 100, maxWait: "2 seconds" })
    const client = yield* makeDexcomClient(provider, settings, budget, yield* makeInMemoryCallBudget).pipe(
      Effect.provide(http.layer)
    )
    const exits = []
    for (let i = 0; i < sends; i++) {
      const fiber = yield* client.send("egvs", HttpClientRequest.get("/v3/users/self/egvs")).pipe(Effect.forkChild)
      yield* TestClock.adjust(advance)
      exits.push(yield* Fiber.await(fiber))
    }
    return { exits, calls: http.calls, budget, client }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (error === undefined) throw new Error("expected a typed failure")
  return (error as { error: E }).error
}

describe("Dexcom client", () => {
  it.effect("prefixes the base URL and answers a 200 with its body", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([{ status: 200, body: '{"ok":1}' }])
      assert.isTrue(Exit.isSuccess(exits[0]!))
      if (Exit.isSuccess(exits[0]!)) assert.strictEqual(exits[0].value.body, '{"ok":1}')
      assert.strictEqual(calls[0]?.url, "https://api.dexcom.com/v3/users/self/egvs")
    })
  )

  it.effect("retries 5xx answers with exponential backoff and jitter, then succeeds", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([{ status: 503 }, { status: 502 }, { status: 500 }, { status: 200 }])
      assert.isTrue(Exit.isSuccess(exits[0]!))
      assert.strictEqual(calls.length, 4)
      const gaps = calls.slice(1).map((call, i) => call.atMillis - calls[i]!.atMillis)
      // 500 ms, 1 s, 2 s, each jittered by ±20 %.
      gaps.forEach((gap, i) => {
        const nominal = 500 * 2 ** i
        assert.isAtLeast(gap, nominal * 0.8)
        assert.isAtMost(gap, nominal * 1.2)
      })
    })
  )

  it.effect("gives up after the bounded retries as ProviderUnavailable", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([{ status: 503 }])
      const error = failureOf(exits[0]!)
      assert.strictEqual(error._tag, "ProviderUnavailable")
      assert.include(error.message, "HTTP 503")
      assert.strictEqual(calls.length, 4)
    })
  )

  it.effect("retries connection resets and timeouts", () =>
    Effect.gen(function* () {
      const reset = yield* run([{ reset: true }, { hang: true }, { status: 200 }])
      assert.isTrue(Exit.isSuccess(reset.exits[0]!))
      assert.strictEqual(reset.calls.length, 3)
      // The hung attempt was abandoned after the request timeout (10 s), then retried after the backoff.
      const hungFor = reset.calls[2]!.atMillis - reset.calls[1]!.atMillis
      assert.isAtLeast(hungFor, 10_000 + 800)
      const never = yield* run([{ hang: true }])
      const error = failureOf(never.exits[0]!)
      assert.strictEqual(error._tag, "ProviderUnavailable")
      assert.include(error.message, "no answer within")
      assert.include(
        yield* run([{ reset: true }]).pipe(Effect.map((r) => failureOf(r.exits[0]!).message)),
        "ECONNRESET"
      )
    })
  )

  it.effect("answers 4xx other than 429 as they are, without retrying", () =>
    Effect.gen(function* () {
      for (const status of [400, 401, 403, 404]) {
        const { exits, calls } = yield* run([{ status }])
        assert.isTrue(Exit.isSuccess(exits[0]!))
        if (Exit.isSuccess(exits[0]!)) assert.strictEqual(exits[0].value.status, status)
        assert.strictEqual(calls.length, 1)
      }
    })
  )

  it.effect("turns a 429 into RateLimited with Retry-After in seconds, and pauses every call until then", () =>
    Effect.gen(function* () {
      const http = scriptedHttpClient([{ status: 429, headers: { "retry-after": "120" } }, { status: 200 }])
      const budget = yield* makeCallBudget({ provider, callsPerHour: 36_000, burst: 100, maxWait: "2 seconds" })
      const client = yield* makeDexcomClient(provider, settings, budget, yield* makeInMemoryCallBudget).pipe(
        Effect.provide(http.layer)
      )
      const send = client.send("egvs", HttpClientRequest.get("/v3/users/self/egvs"))
      const first = failureOf(yield* Effect.exit(send))
      assert.strictEqual(first._tag, "RateLimited")
      if (first._tag === "RateLimited") assert.strictEqual(Duration.toMillis(first.retryAfter), 120_000)
      // Another user's call a minute later is refused without reaching Dexcom, with the time left.
      yield* TestClock.adjust("60 seconds")
      const second = failureOf(yield* Effect.exit(send))
      assert.strictEqual(second._tag, "RateLimited")
      if (second._tag === "RateLimited") assert.strictEqual(Duration.toMillis(second.retryAfter), 60_000)
      assert.strictEqual(http.calls.length, 1)
      yield* TestClock.adjust("60 seconds")
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(send)))
      assert.strictEqual(http.calls.length, 2)
    })
  )

  it.effect("reads Retry-After as an HTTP date", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 1, 1, 8, 0, 0))
      const { exits } = yield* run([{ status: 429, headers: { "retry-after": "Sun, 01 Feb 2026 08:05:00 GMT" } }])
      const error = failureOf(exits[0]!)
      assert.strictEqual(error._tag, "RateLimited")
      if (error._tag === "RateLimited") assert.strictEqual(Duration.toMillis(error.retryAfter), 300_000)
    })
  )

  it.effect("without Retry-After, waits a jittered delay that doubles with each 429 in a row", () =>
    Effect.gen(function* () {
      const http = scriptedHttpClient([
        { status: 429 },
        { status: 429 },
        { status: 429, headers: { "retry-after": "bogus" } }
      ])
      const budget = yield* makeCallBudget({ provider, callsPerHour: 36_000, burst: 100, maxWait: "2 seconds" })
      const client = yield* makeDexcomClient(provider, settings, budget, yield* makeInMemoryCallBudget).pipe(
        Effect.provide(http.layer)
      )
      const delays: Array<number> = []
      for (let i = 0; i < 3; i++) {
        const error = failureOf(yield* Effect.exit(client.send("egvs", HttpClientRequest.get("/x"))))
        if (error._tag !== "RateLimited") throw new Error(error.message)
        delays.push(Duration.toMillis(error.retryAfter))
        yield* TestClock.adjust(error.retryAfter)
      }
      // Base one minute, between half and all of it; then two minutes; then four (an unreadable header counts as none).
      delays.forEach((delay, i) => {
        assert.isAtLeast(delay, 30_000 * 2 ** i)
        assert.isAtMost(delay, 60_000 * 2 ** i)
      })
    })
  )
})

describe("Dexcom client: the budget all replicas share", () => {
  it.effect("three replicas' clients on one budget never send more than a window allows; the others are deferred", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.UTC(2026, 1, 1, 10, 0, 30))
      // 610 calls an hour: windows of one minute, 10 calls each (610 / 61).
      const small = { ...settings, maxCallsPerHour: 610 }
      const shared = yield* makeInMemoryCallBudget
      const http = scriptedHttpClient([{ status: 200, body: "{}" }])
      const replicas = yield* Effect.forEach([1, 2, 3], () =>
        Effect.gen(function* () {
          const local = yield* makeCallBudget({ provider, callsPerHour: 36_000, burst: 100, maxWait: "2 seconds" })
          return yield* makeDexcomClient(provider, small, local, shared).pipe(Effect.provide(http.layer))
        })
      )
      const exits = yield* Effect.forEach(
        Array.from({ length: 30 }, (_, index) => replicas[index % 3]!),
        (client) => Effect.exit(client.send("egvs", HttpClientRequest.get("/v3/users/self/egvs"))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(http.calls.length, 10, "calls sent in the window")
      const refused = exits.filter(Exit.isFailure).map(failureOf)
      assert.strictEqual(refused.length, 20)
      for (const error of refused) {
        assert.strictEqual(error._tag, "RateLimited")
        if (error._tag === "RateLimited") {
          assert.isTrue(error.budgetSpent)
          // Until the window's end, 30 s later.
          assert.strictEqual(Duration.toMillis(error.retryAfter), 30_000)
        }
      }
      // The next window has room again.
      yield* TestClock.adjust("30 seconds")
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(replicas[0]!.send("egvs", HttpClientRequest.get("/x")))))
      assert.strictEqual(http.calls.length, 11)
    })
  )
})
