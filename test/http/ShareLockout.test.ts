import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { type FakeShare, fakeShare } from "../fakes/FakeShareServer.ts"
import { shareServiceLayer } from "../support/dexcomShare.ts"
import { putJson, testServer } from "../support/server.ts"

const ALICE = "alice@example.org"
const PASSWORD = "Correct-Horse-Battery-7"
const KEY = "share-lockout-key-0123456789"
const auth = { authorization: `Bearer ${KEY}` }

const withService = (body: (fake: FakeShare) => Effect.Effect<void, unknown, any>) =>
  Effect.gen(function* () {
    // The fake locks an account after 3 failed logins, as Dexcom does.
    const fake = yield* fakeShare({ lockAfter: 3 })
    const core = shareServiceLayer(fake)
    yield* body(fake).pipe(Effect.provide(testServer(core, {}, [KEY]).pipe(Layer.provideMerge(core))))
  }).pipe(Effect.scoped)

describe("Dexcom Share accounts cannot be locked through bg-ingest", () => {
  it.live("three PUTs with three different wrong passwords make one login; the account stays unlocked", () =>
    withService((fake) =>
      Effect.gen(function* () {
        fake.addAccount(ALICE, { password: PASSWORD })
        const answers = []
        for (const password of ["guess-1", "guess-2", "guess-3"]) {
          answers.push(yield* putJson("/api/bg/mallory/connections/dexcom-share", { username: ALICE, password }, auth))
        }
        assert.deepStrictEqual(
          answers.map((answer) => [answer.status, answer.body.reason]),
          [
            [400, "invalid_credentials"],
            [400, "recently_refused"],
            [400, "recently_refused"]
          ]
        )
        // Whoever asks, for whichever user: the username is what is protected.
        const other = yield* putJson(
          "/api/bg/bob/connections/dexcom-share",
          { username: ALICE, password: "guess-4" },
          auth
        )
        assert.strictEqual(other.body.reason, "recently_refused")
        assert.strictEqual(fake.loginAttempts(ALICE), 1)
        assert.isFalse(fake.isLocked(ALICE))
      })
    )
  )

  it.live("credential PUTs are rate limited per user (and per key): 429 with when to retry", () =>
    withService((fake) =>
      Effect.gen(function* () {
        for (let index = 0; index < 6; index++) fake.addAccount(`user-${index}@example.org`, { password: PASSWORD })
        const answers = []
        for (let index = 0; index < 6; index++) {
          answers.push(
            yield* putJson(
              "/api/bg/carol/connections/dexcom-share",
              { username: `user-${index}@example.org`, password: "wrong-password" },
              auth
            )
          )
        }
        assert.deepStrictEqual(
          answers.map((answer) => answer.status),
          [400, 400, 400, 400, 400, 429]
        )
        const limited = answers[5]!
        assert.strictEqual(limited.contentType, "application/problem+json")
        assert.strictEqual(limited.body.type, "urn:bg-ingest:problem:too-many-attempts")
        assert.isAbove(limited.body.retry_after_seconds, 0)
        assert.strictEqual(fake.loginAttempts("user-5@example.org"), 0)
        // Another user of the same key still may, within the key's own budget.
        const dave = yield* putJson(
          "/api/bg/dave/connections/dexcom-share",
          { username: "user-5@example.org", password: PASSWORD },
          auth
        )
        assert.strictEqual(dave.status, 201, JSON.stringify(dave.body))
      })
    )
  )
})
