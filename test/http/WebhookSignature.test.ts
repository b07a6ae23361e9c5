import { checkTimestamp, signWebhook, verifySignature } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { Redacted } from "effect"

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

  it("matches the documented HMAC over timestamp, path and body, and any of several secrets", () => {
    // printf '%s' '1800000000./api/bg/alice/webhook.{"readings":[]}' | openssl dgst -sha256 -hmac 'secret-one-0123456789'
    const path = "/api/bg/alice/webhook"
    const signature = signWebhook("secret-one-0123456789", "1800000000", path, body)
    assert.strictEqual(signature, "sha256=3ccc61e6f8f9f1e553d3ac5412f98de1f5dc5d87ec090137948213ff9f8dea03")
    const secrets = ["secret-zero-0123456789", "secret-one-0123456789"].map((secret) => Redacted.make(secret))
    assert.isTrue(verifySignature(secrets, "1800000000", path, signature, body).valid)
    assert.isTrue(
      verifySignature(secrets, "1800000000", path, signature.toUpperCase().replace("SHA256", "sha256"), body).valid
    )
    assert.isFalse(verifySignature(secrets, "1800000001", path, signature, body).valid)
    assert.isFalse(verifySignature(secrets, "1800000000", "/api/bg/bob/webhook", signature, body).valid)
    assert.isFalse(verifySignature([Redacted.make("another-secret-012345")], "1800000000", path, signature, body).valid)
    // The first version signed `<timestamp>.<body>`: no longer accepted.
    // printf '%s' '1800000000.{"readings":[]}' | openssl dgst -sha256 -hmac 'secret-one-0123456789'
    const old = "sha256=749a1831f761731beb78924e578775abab1b9312c8cabf7f9b51f3f251279d8d"
    assert.isFalse(verifySignature(secrets, "1800000000", path, old, body).valid)
  })
})
