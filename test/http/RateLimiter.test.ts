import { RateLimiter } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"

describe("RateLimiter", () => {
  it("allows `limit` attempts per key and window, says when the next may be made, and forgets the oldest keys", () => {
    const limiter = new RateLimiter({ limit: 2, windowMillis: 1000, maxKeys: 3 })
    assert.isUndefined(limiter.take("a", 0))
    assert.isUndefined(limiter.take("a", 100))
    assert.strictEqual(limiter.take("a", 400), 600)
    assert.isUndefined(limiter.take("b", 400))
    assert.isUndefined(limiter.take("a", 1000))
    // Keys beyond `maxKeys` push the oldest out instead of growing the map.
    for (const key of ["c", "d", "e"]) assert.isUndefined(limiter.take(key, 1100))
    assert.isUndefined(limiter.take("a", 1100))
    assert.isUndefined(limiter.take("a", 1100))
    assert.isDefined(limiter.take("a", 1100))
  })
})
