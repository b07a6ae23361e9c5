import {
  LIBRE_LINK_UP_PROVIDER_ID,
  type LibreRequest,
  makeLibreLinkUpClient,
  makeLibreLinkUpSettings
} from "@bg-ingest/adapters/libre-link-up"
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Option, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { type Scripted, scriptedHttpClient } from "../../support/scriptedHttpClient.ts"

const settings = makeLibreLinkUpSettings({
  region: "eu",
  version: "4.16.0",
  retries: 2,
  retryBaseDelay: Duration.millis(500),
  requestTimeout: Duration.seconds(10),
  rateLimitBackoffBase: Duration.minutes(1),
  rateLimitBackoffMax: Duration.minutes(30)
})

const TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6ImZha2UifQ.c2ln"
const ACCOUNT_ID = "a".repeat(64)

const login = (account = "ada@example.org"): LibreRequest => ({
  operation: "login",
  baseUrl: settings.baseUrl,
  path: "/llu/auth/login",
  body: { email: account, password: "secret" },
  account,
  retry: false
})

const graph = (account = "ada@example.org"): LibreRequest => ({
  operation: "graph",
  baseUrl: settings.baseUrl,
  path: "/llu/connections/p-1/graph",
  auth: { token: Redacted.make(TOKEN), accountId: ACCOUNT_ID },
  account,
  retry: true
})

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Scripted => ({
  status,
  body: JSON.stringify(body),
  headers: { "content-type": "application/json", ...headers }
})

/** Sends the requests one after another against a script, letting `between` of test time pass after each. */
const run = (
  script: ReadonlyArray<Scripted>,
  requests: ReadonlyArray<LibreRequest>,
  between: Duration.Input = "1 hour"
) =>
  Effect.gen(function* () {
    const http = scriptedHttpClient(script)
    const client = yield* makeLibreLinkUpClient(LIBRE_LINK_UP_PROVIDER_ID, settings).pipe(Effect.provide(http.layer))
    const exits = []
    for (const request of requests) {
      const fiber = yield* client.send(request).pipe(Effect.forkChild)
      yield* TestClock.adjust(between)
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

const ok = json(200, { status: 0, data: {} })

describe("LibreLinkUp client", () => {
  it.effect("sends the app's headers on every call; the token and account-id on authenticated ones only", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run([ok], [login(), graph()])
      assert.isTrue(exits.every(Exit.isSuccess))
      const [first, second] = calls
      assert.strictEqual(first?.method, "POST")
      assert.strictEqual(first?.url, "https://api-eu.libreview.io/llu/auth/login")
      assert.deepInclude(first?.headers, {
        product: "llu.android",
        version: "4.16.0",
        accept: "application/json",
        "cache-control": "no-cache",
        "content-type": "application/json"
      })
      assert.notProperty(first?.headers, "authorization")
      assert.notProperty(first?.headers, "account-id")
      assert.strictEqual(second?.method, "GET")
      assert.strictEqual(second?.url, "https://api-eu.libreview.io/llu/connections/p-1/graph")
      assert.deepInclude(second?.headers, {
        product: "llu.android",
        version: "4.16.0",
        authorization: `Bearer ${TOKEN}`,
        "account-id": ACCOUNT_ID
      })
    })
  )

  it.effect("a 429 with Retry-After: RateLimited for that long, and the account waits without calling", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run(
        [json(429, { status: 429, message: "TooManyRequests" }, { "retry-after": "120" }), ok],
        [graph(), graph(), graph("bob@example.org")],
        "30 seconds"
      )
      const limited = failureOf(exits[0]!)
      assert.strictEqual(limited._tag, "RateLimited")
      assert.strictEqual(limited._tag === "RateLimited" ? Duration.toSeconds(limited.retryAfter) : 0, 120)
      const waiting = failureOf(exits[1]!)
      assert.strictEqual(waiting._tag, "RateLimited")
      assert.strictEqual(waiting._tag === "RateLimited" ? Duration.toSeconds(waiting.retryAfter) : 0, 90)
      assert.isTrue(Exit.isSuccess(exits[2]!), "another account is not held up")
      assert.strictEqual(calls.length, 2)
    })
  )

  it.effect("Cloudflare's HTML 429 pauses every account of the process", () =>
    Effect.gen(function* () {
      const html: Scripted = {
        status: 429,
        body: "<html><title>Access denied | error 1015</title></html>",
        headers: { "content-type": "text/html" }
      }
      const { exits, calls } = yield* run([html, ok], [graph(), graph("bob@example.org")], "10 seconds")
      assert.strictEqual(failureOf(exits[0]!)._tag, "RateLimited")
      assert.strictEqual(failureOf(exits[1]!)._tag, "RateLimited")
      assert.strictEqual(calls.length, 1)
    })
  )

  it.effect("429s without Retry-After wait from a minute, doubling, with jitter", () =>
    Effect.gen(function* () {
      const limited = json(429, { status: 429 })
      const { exits } = yield* run([limited], [graph(), graph(), graph()], "2 hours")
      const waits = exits.map((exit) => {
        const error = failureOf(exit)
        return error._tag === "RateLimited" ? Duration.toMillis(error.retryAfter) : -1
      })
      for (const [index, wait] of waits.entries()) {
        const full = 60_000 * 2 ** index
        assert.isAtLeast(wait, full / 2, `wait ${index}`)
        assert.isAtMost(wait, full, `wait ${index}`)
      }
    })
  )

  it.effect("a 429 that says the account is locked is the caller's to read, not a rate limit", () =>
    Effect.gen(function* () {
      const lock = {
        status: 429,
        data: { code: 60, data: { failures: 3, interval: 60, lockout: 300 }, message: "locked" }
      }
      const { exits, calls } = yield* run([json(200, lock), json(429, lock)], [login(), login()])
      for (const exit of exits) {
        assert.isTrue(Exit.isSuccess(exit))
        if (Exit.isSuccess(exit)) assert.strictEqual(Option.getOrThrow(exit.value.envelope).status, 429)
      }
      assert.strictEqual(calls.length, 2)
    })
  )

  it.effect("a read is retried after a 5xx and a reset, a login never is", () =>
    Effect.gen(function* () {
      const read = yield* run([{ status: 502 }, { reset: true }, ok], [graph()])
      assert.isTrue(Exit.isSuccess(read.exits[0]!))
      assert.strictEqual(read.calls.length, 3)
      const logged = yield* run([{ status: 503 }, ok], [login()])
      const failed = failureOf(logged.exits[0]!)
      assert.strictEqual(failed._tag, "ProviderUnavailable")
      assert.include(failed.message, "login failed (not repeated): HTTP 503")
      assert.strictEqual(logged.calls.length, 1)
      const maintenance = yield* run([json(200, { status: 911 })], [graph()])
      assert.include(failureOf(maintenance.exits[0]!).message, "after 3 attempts: status 911")
    })
  )

  it.effect("a too old version (403, status 920) fails clearly and the next call sends the minimum", () =>
    Effect.gen(function* () {
      const { exits, calls } = yield* run(
        [json(403, { status: 920, data: { minimumVersion: "4.17.0" } }), ok],
        [login(), login()]
      )
      const refused = failureOf(exits[0]!)
      assert.strictEqual(refused._tag, "ProviderUnavailable")
      assert.include(refused.message, "refuses app version 4.16.0 and asks for at least 4.17.0")
      assert.include(refused.message, "LIBRE_LINK_UP_VERSION")
      assert.isTrue(Exit.isSuccess(exits[1]!))
      assert.deepStrictEqual(
        calls.map((call) => call.headers.version),
        ["4.16.0", "4.17.0"]
      )
    })
  )

  it.effect("an answer with a 401 or a refusal is the caller's to read", () =>
    Effect.gen(function* () {
      const { exits } = yield* run([json(401, { message: "invalid or expired jwt" })], [graph()])
      assert.isTrue(Exit.isSuccess(exits[0]!))
      if (Exit.isSuccess(exits[0]!)) assert.strictEqual(exits[0].value.httpStatus, 401)
    })
  )
})
