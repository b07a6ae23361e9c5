import { NightscoutSiteStore } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, type Layer, Option } from "effect"
import { at, user } from "../support/fixtures.ts"

/** A distinct 64-hex digest per label, as the use case would store. */
const digest = (label: string) => Array.from(label.padEnd(32, "."), (c) => c.charCodeAt(0).toString(16)).join("")

const pair = (label: string) => ({ secretHash: digest(`s-${label}`), tokenHash: digest(`t-${label}`) })

/** The behaviour every `NightscoutSiteStore` adapter must have. `makeLayer` gives an empty store per test. */
export const nightscoutSiteStoreContract = (name: string, makeLayer: () => Layer.Layer<NightscoutSiteStore, unknown>) =>
  describe(`NightscoutSiteStore contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, NightscoutSiteStore>) =>
      it.live(title, () => body.pipe(Effect.provide(makeLayer())))

    test(
      "a saved site's credentials find its user with their roles; anything else finds nothing",
      Effect.gen(function* () {
        const store = yield* NightscoutSiteStore
        const alice = pair("alice")
        assert.deepStrictEqual(yield* store.save({ userId: user("alice@example.org"), ...alice, at: at(0) }), {
          created: true
        })
        assert.deepStrictEqual(Option.getOrThrow(yield* store.find(alice.secretHash)), {
          userId: user("alice@example.org"),
          role: "uploader"
        })
        assert.deepStrictEqual(Option.getOrThrow(yield* store.find(alice.tokenHash)), {
          userId: user("alice@example.org"),
          role: "follower"
        })
        assert.isTrue(Option.isNone(yield* store.find(digest("unknown"))))
        const site = Option.getOrThrow(yield* store.get(user("alice@example.org")))
        assert.deepStrictEqual(
          [site.userId, site.secretHash, site.tokenHash, DateTime.toEpochMillis(site.createdAt)],
          ["alice@example.org", alice.secretHash, alice.tokenHash, DateTime.toEpochMillis(at(0))]
        )
        assert.isTrue(Option.isNone(yield* store.get(user("bob"))))
      })
    )

    test(
      "saving again rotates: the old credentials find nothing at once, the new ones do, the creation time stays",
      Effect.gen(function* () {
        const store = yield* NightscoutSiteStore
        const [first, second] = [pair("first"), pair("second")]
        yield* store.save({ userId: user("u1"), ...first, at: at(0) })
        assert.deepStrictEqual(yield* store.save({ userId: user("u1"), ...second, at: at(5) }), { created: false })
        assert.isTrue(Option.isNone(yield* store.find(first.secretHash)))
        assert.isTrue(Option.isNone(yield* store.find(first.tokenHash)))
        assert.strictEqual(Option.getOrThrow(yield* store.find(second.secretHash)).role, "uploader")
        assert.strictEqual(Option.getOrThrow(yield* store.find(second.tokenHash)).role, "follower")
        const site = Option.getOrThrow(yield* store.get(user("u1")))
        assert.deepStrictEqual(
          [site.secretHash, DateTime.toEpochMillis(site.createdAt), DateTime.toEpochMillis(site.updatedAt)],
          [second.secretHash, DateTime.toEpochMillis(at(0)), DateTime.toEpochMillis(at(5))]
        )
      })
    )

    test(
      "sites of different users do not disturb each other",
      Effect.gen(function* () {
        const store = yield* NightscoutSiteStore
        const [a, b] = [pair("a"), pair("b")]
        yield* store.save({ userId: user("a"), ...a, at: at(0) })
        yield* store.save({ userId: user("b"), ...b, at: at(0) })
        yield* store.save({ userId: user("a"), ...pair("a2"), at: at(1) })
        assert.strictEqual(Option.getOrThrow(yield* store.find(b.secretHash)).userId, "b")
        assert.isTrue(yield* store.remove(user("a")))
        assert.strictEqual(Option.getOrThrow(yield* store.find(b.tokenHash)).userId, "b")
        assert.isTrue(Option.isSome(yield* store.get(user("b"))))
      })
    )

    test(
      "removing closes the site: its credentials find nothing; removing again answers false; it can open again",
      Effect.gen(function* () {
        const store = yield* NightscoutSiteStore
        const site = pair("closing")
        yield* store.save({ userId: user("u1"), ...site, at: at(0) })
        assert.isTrue(yield* store.remove(user("u1")))
        assert.isTrue(Option.isNone(yield* store.find(site.secretHash)))
        assert.isTrue(Option.isNone(yield* store.find(site.tokenHash)))
        assert.isTrue(Option.isNone(yield* store.get(user("u1"))))
        assert.isFalse(yield* store.remove(user("u1")))
        assert.isFalse(yield* store.remove(user("never")))
        const reopened = pair("reopened")
        assert.deepStrictEqual(yield* store.save({ userId: user("u1"), ...reopened, at: at(9) }), { created: true })
        assert.isTrue(Option.isNone(yield* store.find(site.secretHash)))
        assert.strictEqual(Option.getOrThrow(yield* store.find(reopened.tokenHash)).userId, "u1")
      })
    )

    test(
      "of concurrent saves for one user, one creates; afterwards exactly one pair is current, the others' are dead",
      Effect.gen(function* () {
        const store = yield* NightscoutSiteStore
        const pairs = Array.from({ length: 8 }, (_, index) => pair(`race-${index}`))
        const results = yield* Effect.forEach(
          pairs,
          (hashes) => store.save({ userId: user("u1"), ...hashes, at: at(0) }),
          {
            concurrency: "unbounded"
          }
        )
        assert.strictEqual(results.filter((result) => result.created).length, 1)
        const current = Option.getOrThrow(yield* store.get(user("u1")))
        const winners = pairs.filter((hashes) => hashes.secretHash === current.secretHash)
        assert.strictEqual(winners.length, 1)
        assert.strictEqual(winners[0]!.tokenHash, current.tokenHash)
        for (const hashes of pairs) {
          const live = hashes === winners[0]
          assert.strictEqual(Option.isSome(yield* store.find(hashes.secretHash)), live)
          assert.strictEqual(Option.isSome(yield* store.find(hashes.tokenHash)), live)
        }
      })
    )
  })
