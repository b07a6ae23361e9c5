import { checkTimestamp, signWebhook, verifySignature } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { testCrypto } from "../support/crypto.ts"

const body = new TextEncoder().encode('{"readings":[]}')

describe("webhook signatures", () => {
  it("the timestamp must be within 300 s either way, to the second", () => {
    const now = 1_800_000_000
    assert.isTrue(checkTimestamp(String(now - 300), now, 300).valid)
    assert.isTrue(checkTimestamp(String(now + 300), now, 300).valid)
    assert.isFalse(checkTimestamp(String(now - 301), now, 300).valid)
    assert.isFalse(checkTimestamp(String(now + 301), now, 300).valid)
    for (const bad of [undefined, "", "1.5", "-1", "1e9", " 1800000000"]) {
      assert.isFalse(checkTimestamp(bad, now, 300).valid, String(bad))
    }
  })

  it.effect("matches the documented HMAC and any of several secrets", () =>
    Effect.gen(function* () {
      // printf '%s' '1800000000.{"readings":[]}' | openssl dgst -sha256 -hmac 'secret-one-0123456789'
      const signature = yield* signWebhook("secret-one-0123456789", "1800000000", body)
      assert.strictEqual(signature, "sha256=749a1831f761731beb78924e578775abab1b9312c8cabf7f9b51f3f251279d8d")
      const secrets = ["secret-zero-0123456789", "secret-one-0123456789"].map((secret) => Redacted.make(secret))
      assert.isTrue((yield* verifySignature(secrets, "1800000000", signature, body)).valid)
      assert.isTrue(
        (yield* verifySignature(secrets, "1800000000", signature.toUpperCase().replace("SHA256", "sha256"), body)).valid
      )
      assert.isFalse((yield* verifySignature(secrets, "1800000001", signature, body)).valid)
      assert.isFalse(
        (yield* verifySignature([Redacted.make("another-secret-012345")], "1800000000", signature, body)).valid
      )
    }).pipe(Effect.provide(testCrypto))
  )
})
