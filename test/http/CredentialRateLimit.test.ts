import { CREDENTIAL_ATTEMPTS } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { fakeShare } from "../fakes/FakeShareServer.ts"
import { shareServiceLayer } from "../support/dexcomShare.ts"
import { putJson, testServer } from "../support/server.ts"

const KEY = "rate-limit-key-0123456789"

/** The forms of one `Authorization: Bearer <key>` that HTTP allows: the scheme in any case, one or more spaces. */
const spellings = (index: number) => `${index % 2 === 0 ? "Bearer" : "bearer"}${" ".repeat(1 + (index >> 1))}${KEY}`

/**
 * Each attempt is for another user and another account, so only the per-key budget can stop them; the key is
 * written a different (valid) way each time.
 */
const attempts = (keys: ReadonlyArray<string>, spell: (index: number) => string | undefined) =>
  Effect.gen(function* () {
    const fake = yield* fakeShare()
    const core = shareServiceLayer(fake)
    const count = CREDENTIAL_ATTEMPTS.perKey + 1
    const statuses: Array<number> = []
    yield* Effect.gen(function* () {
      for (let index = 0; index < count; index++) {
        const authorization = spell(index)
        const answer = yield* putJson(
          `/api/bg/user-${index}/connections/dexcom-share`,
          { username: `account-${index}@example.org`, password: "wrong-password" },
          authorization === undefined ? {} : { authorization }
        )
        statuses.push(answer.status)
      }
    }).pipe(Effect.provide(testServer(core, {}, keys).pipe(Layer.provideMerge(core))))
    return statuses
  }).pipe(Effect.scoped)

describe("the per-key budget of credential attempts holds however the key is written", () => {
  it.live("one key written in different valid ways is one budget", () =>
    Effect.gen(function* () {
      const statuses = yield* attempts([KEY], spellings)
      assert.deepStrictEqual(statuses.slice(0, CREDENTIAL_ATTEMPTS.perKey), Array(CREDENTIAL_ATTEMPTS.perKey).fill(400))
      assert.strictEqual(statuses.at(-1), 429)
    })
  )

  it.live("without API keys, whatever Authorization a caller sends, the process has one budget", () =>
    Effect.gen(function* () {
      const statuses = yield* attempts([], (index) => (index === 0 ? undefined : `Bearer anything-${index}`))
      assert.strictEqual(statuses.at(-1), 429)
    })
  )
})
