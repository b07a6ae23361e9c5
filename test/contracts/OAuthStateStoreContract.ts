import { OAuthStateStore, type PendingAuthorization, ProviderId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, type Layer, Option } from "effect"
import { at, user } from "../support/fixtures.ts"

const pending = (stateHash: string, overrides: Partial<PendingAuthorization> = {}): PendingAuthorization => ({
  stateHash,
  userId: user("u1"),
  provider: ProviderId.make("dexcom"),
  createdAt: at(0),
  expiresAt: at(10),
  ...overrides
})

const plain = (entry: PendingAuthorization) => ({
  ...entry,
  createdAt: DateTime.toEpochMillis(entry.createdAt),
  expiresAt: DateTime.toEpochMillis(entry.expiresAt)
})

/** The behaviour every `OAuthStateStore` adapter must have. `makeLayer` gives an empty store per test. */
export const oauthStateStoreContract = (name: string, makeLayer: () => Layer.Layer<OAuthStateStore, unknown>) =>
  describe(`OAuthStateStore contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, OAuthStateStore>) =>
      it.live(title, () => body.pipe(Effect.provide(makeLayer())))

    test(
      "consume gives back every field of what was put",
      Effect.gen(function* () {
        const store = yield* OAuthStateStore
        const entry = pending("a".repeat(64), { userId: user("someone@example.org"), provider: ProviderId.make("x-1") })
        yield* store.put(entry)
        const consumed = yield* store.consume(entry.stateHash)
        assert.deepStrictEqual(plain(Option.getOrThrow(consumed)), plain(entry))
      })
    )

    test(
      "a state is consumed once: the second consume finds nothing",
      Effect.gen(function* () {
        const store = yield* OAuthStateStore
        yield* store.put(pending("h1"))
        assert.isTrue(Option.isSome(yield* store.consume("h1")))
        assert.isTrue(Option.isNone(yield* store.consume("h1")))
      })
    )

    test(
      "of many concurrent consumes of one state, exactly one gets it",
      Effect.gen(function* () {
        const store = yield* OAuthStateStore
        yield* store.put(pending("h-race"))
        const results = yield* Effect.forEach(Array.from({ length: 8 }), () => store.consume("h-race"), {
          concurrency: "unbounded"
        })
        assert.strictEqual(results.filter(Option.isSome).length, 1)
      })
    )

    test(
      "an unknown state finds nothing, and states do not disturb each other",
      Effect.gen(function* () {
        const store = yield* OAuthStateStore
        yield* store.put(pending("h-a", { userId: user("a") }))
        yield* store.put(pending("h-b", { userId: user("b") }))
        assert.isTrue(Option.isNone(yield* store.consume("h-unknown")))
        assert.strictEqual(Option.getOrThrow(yield* store.consume("h-b")).userId, "b")
        assert.strictEqual(Option.getOrThrow(yield* store.consume("h-a")).userId, "a")
      })
    )

    test(
      "a state that has just expired is still returned, so the caller can say it expired",
      Effect.gen(function* () {
        const store = yield* OAuthStateStore
        yield* store.put(pending("h-old", { createdAt: at(0), expiresAt: at(10) }))
        // Another authorization started a little after the first one expired.
        yield* store.put(pending("h-new", { createdAt: at(11), expiresAt: at(21) }))
        const old = Option.getOrThrow(yield* store.consume("h-old"))
        assert.strictEqual(DateTime.toEpochMillis(old.expiresAt), DateTime.toEpochMillis(at(10)))
      })
    )
  })
