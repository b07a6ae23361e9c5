import { assert, describe, it } from "@effect/vitest"
import { Digest } from "effect/crypto"
import * as fc from "fast-check"
import { md5 } from "../../packages/domain/src/model/Md5.ts"

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex")
const text = (value: string) => new TextEncoder().encode(value)

describe("md5 (the event ids' digest)", () => {
  it("gives RFC 1321's test suite digests", () => {
    const suite: ReadonlyArray<[string, string]> = [
      ["", "d41d8cd98f00b204e9800998ecf8427e"],
      ["a", "0cc175b9c0f1b6a831c399e269772661"],
      ["abc", "900150983cd24fb0d6963f7d28e17f72"],
      ["message digest", "f96b697d7cb7938d525a2f31aaf161d0"],
      ["abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"],
      ["ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f"],
      [
        "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
        "57edf4a22be3c955ac49da2e2107b67a"
      ]
    ]
    for (const [input, digest] of suite) assert.strictEqual(hex(md5(text(input))), digest, input)
  })

  it("equals effect/crypto's MD5 on any bytes, around every block boundary, and on a prefix of a longer buffer", () => {
    const reference = Digest.md5.implementation!
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(40), (bytes, extra) => {
        assert.strictEqual(hex(md5(bytes)), hex(reference(bytes)))
        const longer = new Uint8Array(bytes.length + extra).fill(0xa5)
        longer.set(bytes)
        assert.strictEqual(hex(md5(longer, bytes.length)), hex(reference(bytes)))
      }),
      { numRuns: 2000 }
    )
    for (let length = 0; length <= 200; length++) {
      const bytes = Uint8Array.from({ length }, (_, index) => (index * 31 + length) & 0xff)
      assert.strictEqual(hex(md5(bytes)), hex(reference(bytes)), `length ${length}`)
    }
  })
})
