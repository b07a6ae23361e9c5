import { DEXCOM_SHARE_PROVIDER_ID, makeDexcomShareClient, makeDexcomShareSettings } from "@bg-ingest/adapters"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { type Scripted, scriptedHttpClient } from "../../support/scriptedHttpClient.ts"

const settings = makeDexcomShareSettings({
  region: "ous",
  retries: 3,
  retryBaseDelay: Duration.millis(500),
  requestTimeout: Duration.seconds(10)
})

const shareError = (code: string, message = "") => ({
  status: 500,
  body: JSON.stringify({ Code: code, Message: message })
})

/** Sends one request (a glucose read, or a login) against a script, letting an hour of test time pass. */
const run = (script: ReadonlyArray<Scripted>, operation: "glucose" | "login" = "glucose", sends = 1) =>
  Effect.gen(function* () {
    const http = scriptedHttpClient(script)
    const client = yield* makeDexcomShareClient(DEXCOM_SHARE_PROVIDER_ID, settings).pipe(Effect.provide(http.layer))
    const exits = []
    for (let i = 0; i < sends; i++) {
      const fiber = yield* client
        .send(operation, {
          ...(operation === "glucose"
            ? { urlParams: { sessionId: Redacted.make("session-1"), minutes: 1440, maxCount: 288 } }
            : { body: { accountId: "a", password: "p", applicationId: "x" } }),
          retry: operation === "glucose"
        })
        .pipe(Effect.forkChild)
      yield* TestClock.adjust("1 hour")
      exits.push(yield* Fiber.await(fiber))
    }
    return { exits, calls: http.calls }
  })

const failureOf = <A, E>(exit: Exit.Exit<A, E>): E => {
  if (Exit.isSuccess(exit)) throw new Error("expected a failure")
  const error = exit.cause.reasons.find((reason) => reason._tag === "Fail")
  if (error === undefined) throw new Error("expected a typed failure")
  return (error as { error: E }).error
}

describe("Dexcom Share client", () => {
  it.effect("POSTs to the region's service with the query, and answers a 200's body", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([{ status: 200, body: "[]" }])
      assert.deepStrictEqual(Exit.isSuccess(exits[0]!) ? exits[0].value : undefined, { _tag: "Ok", body: "[]" })
      assert.strictEqual(calls[0]?.method, "POST")
      assert.strictEqual(
        calls[0]?.url,
        "https://shareous1.dexcom.com/ShareWebServices/Services/Publisher/ReadPublisherLatestGlucoseValues?sessionId=session-1&minutes=1440&maxCount=288"
      )
    })
  )

  it.effect("a read is retried after 5xx, SSO_InternalError and resets, with growing delays, then answers", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([
        { status: 503 },
        shareError("SSO_InternalError", "Internal error"),
        { reset: true },
        { status: 200, body: "[]" }
      ])
      assert.isTrue(Exit.isSuccess(exits[0]!))
      assert.strictEqual(calls.length, 4)
      const gaps = calls.slice(1).map((call, i) => call.atMillis - calls[i]!.atMillis)
      for (const [i, gap] of gaps.entries()) {
        assert.isAtLeast(gap, 500 * 2 ** i * 0.8)
        assert.isAtMost(gap, 500 * 2 ** i * 1.2)
      }
    })
  )

  it.effect("a read that keeps failing ends as ProviderUnavailable after the retries", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([shareError("SSO_InternalError")])
      assert.strictEqual(calls.length, 4)
      const error = failureOf(exits[0]!)
      assert.strictEqual(error._tag, "ProviderUnavailable")
      assert.include(error.message, "glucose failed after 4 attempts: HTTP 500 SSO_InternalError")
    })
  )

  it.effect("a login is never repeated by the client, whatever failed", () =>
    Effect.gen(function* () {
      for (const step of [{ status: 503 }, { reset: true as const }, shareError("SSO_InternalError")]) {
        const { exits, calls } = yield* run([step, { status: 200, body: '"id"' }], "login")
        assert.strictEqual(calls.length, 1)
        const outcome = Exit.isSuccess(exits[0]!) ? exits[0].value : failureOf(exits[0]!)
        // A named error is Share's answer, for the login to judge; anything else is Share being unavailable.
        assert.strictEqual(outcome._tag, "status" in step && step.status === 500 ? "Refused" : "ProviderUnavailable")
      }
    })
  )

  it.effect("an answer without a code that is not a 5xx is not Share speaking: unavailable at once, not retried", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([{ status: 404, body: "<html>Not Found</html>" }])
      assert.strictEqual(calls.length, 1)
      const error = failureOf(exits[0]!)
      assert.strictEqual(error._tag, "ProviderUnavailable")
      assert.include(error.message, "HTTP 404 without an error code to glucose")
    })
  )

  it.effect("a named error answers its code and message, without retries; a code in an odd shape is not echoed", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([shareError("SessionIdNotFound", "Session ID not found")])
      assert.strictEqual(calls.length, 1)
      assert.deepStrictEqual(Exit.isSuccess(exits[0]!) ? exits[0].value : undefined, {
        _tag: "Refused",
        status: 500,
        code: "SessionIdNotFound",
        message: "Session ID not found"
      })
      const odd = yield* run([{ status: 500, body: JSON.stringify({ Code: "<script>alert(1)</script>" }) }])
      assert.deepInclude(Exit.isSuccess(odd.exits[0]!) ? odd.exits[0].value : {}, { code: "unrecognized", message: "" })
    })
  )

  it.effect("a 429 fails as RateLimited after Retry-After and pauses every call until then", () =>
    Effect.gen(function* () {
      const http = scriptedHttpClient([
        { status: 429, headers: { "retry-after": "120" } },
        { status: 200, body: "[]" }
      ])
      const client = yield* makeDexcomShareClient(DEXCOM_SHARE_PROVIDER_ID, settings).pipe(Effect.provide(http.layer))
      const read = client.send("glucose", { retry: true })
      const first = failureOf(yield* Effect.exit(read))
      assert.strictEqual(first._tag, "RateLimited")
      if (first._tag === "RateLimited") assert.strictEqual(Duration.toSeconds(first.retryAfter), 120)
      yield* TestClock.adjust("60 seconds")
      const paused = failureOf(yield* Effect.exit(client.send("authenticate", { body: {}, retry: false })))
      assert.strictEqual(paused._tag, "RateLimited")
      if (paused._tag === "RateLimited") assert.strictEqual(Duration.toSeconds(paused.retryAfter), 60)
      assert.strictEqual(http.calls.length, 1, "no call while paused")
      yield* TestClock.adjust("61 seconds")
      assert.isTrue(Exit.isSuccess(yield* Effect.exit(read)))
      assert.strictEqual(http.calls.length, 2)
    })
  )

  it.effect("without Retry-After a 429 waits a minute or more, doubling while 429s continue", () =>
    Effect.gen(function* () {
      const { exits } = yield* run([{ status: 429 }], "glucose", 3)
      const waits = exits.map((exit) => {
        const error = failureOf(exit)
        return error._tag === "RateLimited" ? Duration.toSeconds(error.retryAfter) : -1
      })
      for (const [i, wait] of waits.entries()) {
        assert.isAtLeast(wait, 60 * 2 ** i * 0.5)
        assert.isAtMost(wait, 60 * 2 ** i)
      }
    })
  )
})
