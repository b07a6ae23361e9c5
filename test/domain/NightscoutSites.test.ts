import { createHash } from "node:crypto"
import { InMemoryNightscoutSiteStore } from "@bg-ingest/adapters/memory"
import { constantTimeEqual, NightscoutSites, type PresentedCredential } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { testCrypto } from "../support/crypto.ts"
import { user } from "../support/fixtures.ts"

const sites = NightscoutSites.layer.pipe(
  Layer.provideMerge(InMemoryNightscoutSiteStore.layer),
  Layer.provide(testCrypto)
)
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex")

const asSha1 = (credential: Redacted.Redacted<string>): PresentedCredential => ({
  form: "sha1",
  value: sha1(Redacted.value(credential))
})
const asToken = (credential: Redacted.Redacted<string>): PresentedCredential => ({
  form: "token",
  value: Redacted.value(credential)
})

const access = (presented: ReadonlyArray<PresentedCredential>, site?: string) =>
  NightscoutSites.use((service) =>
    service.authorize(presented, site === undefined ? Option.none() : Option.some(user(site)))
  ).pipe(
    Effect.map((granted) => `${granted.userId}:${granted.role}`),
    Effect.catchTag("NightscoutAccessDenied", (denied) => Effect.succeed(`denied:${denied.reason}`))
  )

describe("NightscoutSites", () => {
  it.effect("open issues a strong secret and a Nightscout-shaped read token, shown once", () =>
    Effect.gen(function* () {
      const service = yield* NightscoutSites
      const opened = yield* service.open(user("alice"))
      assert.isTrue(opened.created)
      assert.match(Redacted.value(opened.apiSecret), /^[A-Za-z0-9]{32}$/)
      assert.match(Redacted.value(opened.readToken), /^follower-[0-9a-f]{32}$/)
      const again = yield* service.open(user("alice"))
      assert.isFalse(again.created)
      assert.notStrictEqual(Redacted.value(again.apiSecret), Redacted.value(opened.apiSecret))
    }).pipe(Effect.provide(sites))
  )

  it.effect(
    "the secret's SHA-1 uploads; the token, plain or as SHA-1, follows; on the user's site and at the root",
    () =>
      Effect.gen(function* () {
        const { apiSecret, readToken } = yield* NightscoutSites.use((service) => service.open(user("alice")))
        assert.strictEqual(yield* access([asSha1(apiSecret)], "alice"), "alice:uploader")
        assert.strictEqual(yield* access([asSha1(apiSecret)]), "alice:uploader")
        assert.strictEqual(
          yield* access([{ form: "sha1", value: sha1(Redacted.value(apiSecret)).toUpperCase() }]),
          "alice:uploader"
        )
        assert.strictEqual(yield* access([asToken(readToken)], "alice"), "alice:follower")
        assert.strictEqual(yield* access([asToken(readToken)]), "alice:follower")
        assert.strictEqual(yield* access([asSha1(readToken)]), "alice:follower")
        // The best credential presented wins.
        assert.strictEqual(yield* access([asToken(readToken), asSha1(apiSecret)], "alice"), "alice:uploader")
      }).pipe(Effect.provide(sites))
  )

  it.effect("a plain secret, a wrong value, nothing at all, or another user's credential open nothing", () =>
    Effect.gen(function* () {
      const service = yield* NightscoutSites
      const alice = yield* service.open(user("alice"))
      const bob = yield* service.open(user("bob"))
      assert.strictEqual(yield* access([asToken(alice.apiSecret)], "alice"), "denied:invalid")
      assert.strictEqual(yield* access([asToken(alice.apiSecret)]), "denied:invalid")
      assert.strictEqual(yield* access([{ form: "sha1", value: "f".repeat(40) }], "alice"), "denied:invalid")
      assert.strictEqual(yield* access([{ form: "sha1", value: "not hex" }]), "denied:invalid")
      assert.strictEqual(yield* access([{ form: "token", value: "x".repeat(10_000) }]), "denied:invalid")
      assert.strictEqual(yield* access([], "alice"), "denied:missing")
      assert.strictEqual(yield* access([]), "denied:missing")
      assert.strictEqual(yield* access([asSha1(bob.apiSecret)], "alice"), "denied:invalid")
      assert.strictEqual(yield* access([asToken(bob.readToken)], "alice"), "denied:invalid")
      assert.strictEqual(yield* access([asSha1(alice.apiSecret)], "nobody"), "denied:invalid")
      // Credentials of two users in one request name no one at the root.
      assert.strictEqual(yield* access([asToken(alice.readToken), asSha1(bob.apiSecret)]), "denied:invalid")
    }).pipe(Effect.provide(sites))
  )

  it.effect("rotating kills the old credentials at once; closing kills the current ones", () =>
    Effect.gen(function* () {
      const service = yield* NightscoutSites
      const first = yield* service.open(user("alice"))
      const second = yield* service.open(user("alice"))
      assert.strictEqual(yield* access([asSha1(first.apiSecret)], "alice"), "denied:invalid")
      assert.strictEqual(yield* access([asToken(first.readToken)]), "denied:invalid")
      assert.strictEqual(yield* access([asSha1(second.apiSecret)], "alice"), "alice:uploader")
      assert.isTrue(yield* service.close(user("alice")))
      assert.strictEqual(yield* access([asSha1(second.apiSecret)], "alice"), "denied:invalid")
      assert.strictEqual(yield* access([asToken(second.readToken)]), "denied:invalid")
      assert.isFalse(yield* service.close(user("alice")))
    }).pipe(Effect.provide(sites))
  )

  it("compares digests in constant time and only equal lengths", () => {
    assert.isTrue(constantTimeEqual("abc", "abc"))
    assert.isFalse(constantTimeEqual("abc", "abd"))
    assert.isFalse(constantTimeEqual("abc", "abcd"))
  })
})
