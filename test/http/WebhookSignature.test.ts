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

  it.effect("matches the documented HMAC over timestamp, path and body, and any of several secrets", () =>
    Effect.gen(function* () {
      // printf '%s' '1800000000./api/bg/alice/webhook.{"readings":[]}' | openssl dgst -sha256 -hmac 'secret-one-0123456789'
      const path = "/api/bg/alice/webhook"
      const signature = yield* signWebhook("secret-one-0123456789", "1800000000", path, body)
      assert.strictEqual(signature, "sha256=3ccc61e6f8f9f1e553d3ac5412f98de1f5dc5d87ec090137948213ff9f8dea03")
      const secrets = ["secret-zero-0123456789", "secret-one-0123456789"].map((secret) => Redacted.make(secret))
      const verify = (timestamp: string, at: string, given: string, keys = secrets) =>
        Effect.map(verifySignature(keys, timestamp, at, given, body), (check) => check.valid)
      assert.isTrue(yield* verify("1800000000", path, signature))
      assert.isTrue(yield* verify("1800000000", path, signature.toUpperCase().replace("SHA256", "sha256")))
      assert.isFalse(yield* verify("1800000001", path, signature))
      assert.isFalse(yield* verify("1800000000", "/api/bg/bob/webhook", signature))
      assert.isFalse(yield* verify("1800000000", path, signature, [Redacted.make("another-secret-012345")]))
      // The first version signed `<timestamp>.<body>`: no longer accepted.
      // printf '%s' '1800000000.{"readings":[]}' | openssl dgst -sha256 -hmac 'secret-one-0123456789'
      const old = "sha256=749a1831f761731beb78924e578775abab1b9312c8cabf7f9b51f3f251279d8d"
      assert.isFalse(yield* verify("1800000000", path, old))
    }).pipe(Effect.provide(testCrypto))
  )
})
