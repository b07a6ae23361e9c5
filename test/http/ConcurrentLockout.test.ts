import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { fakeLibreLinkUp } from "../fakes/FakeLibreLinkUpServer.ts"
import { fakeShare } from "../fakes/FakeShareServer.ts"
import { shareServiceLayer } from "../support/dexcomShare.ts"
import { libreServiceLayer } from "../support/libreLinkUp.ts"
import { putJson, testServer } from "../support/server.ts"

const ACCOUNT = "alice@example.org"
const PASSWORD = "Correct-Horse-Battery-7"
const KEY = "concurrent-lockout-key-0123456789"
const auth = { authorization: `Bearer ${KEY}` }
const GUESSES = ["guess-1", "guess-2", "guess-3", "guess-4", "guess-5"]

/**
 * Wrong passwords of one account sent at once, as separate users and in one burst: each would pass a check made
 * before any refusal came back, and the provider locks the account at its third failed login in a row.
 */
const burst = (provider: string) =>
  Effect.forEach(
    GUESSES,
    (password, index) =>
      putJson(`/api/bg/mallory-${index}/connections/${provider}`, { username: ACCOUNT, password }, auth),
    { concurrency: "unbounded" }
  )

describe("concurrent credential PUTs cannot lock a provider account", () => {
  it.live("Dexcom Share: five wrong passwords at once make one login, and the account stays unlocked", () =>
    Effect.gen(function* () {
      const fake = yield* fakeShare({ lockAfter: 3 })
      fake.addAccount(ACCOUNT, { password: PASSWORD })
      const core = shareServiceLayer(fake)
      const answers = yield* burst("dexcom-share").pipe(
        Effect.provide(testServer(core, {}, [KEY]).pipe(Layer.provideMerge(core)))
      )
      assert.deepStrictEqual(
        answers.map((answer) => answer.status),
        GUESSES.map(() => 400)
      )
      assert.strictEqual(fake.loginAttempts(ACCOUNT), 1)
      assert.isFalse(fake.isLocked(ACCOUNT))
    }).pipe(Effect.scoped)
  )

  it.live("LibreLinkUp: five wrong passwords at once make at most two logins, and the account stays unlocked", () =>
    Effect.gen(function* () {
      const fake = yield* fakeLibreLinkUp({ lockAfter: 3 })
      // An account of the region logins start at: every login is one request, no redirect.
      fake.addAccount(ACCOUNT, { password: PASSWORD, region: "us", patients: [] })
      const core = libreServiceLayer(fake)
      const answers = yield* burst("libre-link-up").pipe(
        Effect.provide(testServer(core, {}, [KEY]).pipe(Layer.provideMerge(core)))
      )
      assert.deepStrictEqual(
        answers.map((answer) => answer.status),
        GUESSES.map(() => 400)
      )
      assert.isAtMost(fake.loginAttempts(ACCOUNT), 2)
      assert.isFalse(fake.isLocked(ACCOUNT))
    }).pipe(Effect.scoped)
  )
})
