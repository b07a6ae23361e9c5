import { roundRatio, roundSqrtRatio } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"

describe("exact rounding, half up", () => {
  it("rounds ratios half up at the chosen decimals", () => {
    assert.strictEqual(roundRatio(1, 8, 1), 0.1) // 0.125
    assert.strictEqual(roundRatio(1, 8, 2), 0.13) // 0.125
    assert.strictEqual(roundRatio(5, 2, 0), 3) // 2.5
    assert.strictEqual(roundRatio(115, 100, 1), 1.2) // 1.15, which is 1.1499… as a double
    assert.strictEqual(roundRatio(0, 7, 1), 0)
    assert.strictEqual(roundRatio(10n ** 20n + 5n * 10n ** 18n, 10n ** 20n, 1), 1.1) // 1.05, beyond 2⁵³
  })

  it("rounds square roots of ratios half up", () => {
    assert.strictEqual(roundSqrtRatio(11_025n, 10_000n, 1), 1.1) // √1.1025 = 1.05
    assert.strictEqual(roundSqrtRatio(1n, 16n, 1), 0.3) // 0.25
    assert.strictEqual(roundSqrtRatio(5n, 1n, 3), 2.236)
    assert.strictEqual(roundSqrtRatio(0n, 5n, 1), 0)
    assert.strictEqual(roundSqrtRatio(9n * 10n ** 30n, 1n, 1), 3_000_000_000_000_000)
  })

  it("agrees with the definition: the rounded r satisfies r − ½ ≤ x·10 < r + ½ (exactly, in integers)", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 9n }), (num, den) => {
        const r = BigInt(Math.round(roundSqrtRatio(num, den, 1) * 10))
        // (2r − 1)² ≤ 400·num/den < (2r + 1)²
        const scaled = 400n * num
        assert.isTrue(r === 0n || (2n * r - 1n) ** 2n * den <= scaled)
        assert.isTrue(scaled < (2n * r + 1n) ** 2n * den)
        const q = BigInt(Math.round(roundRatio(num, den, 1) * 10))
        // 2q − 1 ≤ 20·num/den < 2q + 1
        assert.isTrue((2n * q - 1n) * den <= 20n * num && 20n * num < (2n * q + 1n) * den)
      })
    )
  })
})
