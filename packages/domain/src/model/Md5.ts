/**
 * MD5 (RFC 1321) of bytes, for the name-based event ids (RFC 4122 v3) that every stored reading gets: the digest
 * itself, with no object, view or buffer made per call but the 16-byte result. `effect/crypto`'s MD5 (which gives
 * the same digests, test/domain/Md5.test.ts) makes a hasher, views and buffers each time, and was a fifth of
 * `Ingest.ingest`'s CPU (bench/ingest.ts). Not for security: MD5 is what v3 UUIDs are defined with.
 */

const S = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21]
const K = Int32Array.from({ length: 64 }, (_, index) => Math.floor(2 ** 32 * Math.abs(Math.sin(index + 1))) | 0)
const SHIFT = Uint8Array.from({ length: 64 }, (_, index) => S[(index >> 4) * 4 + (index % 4)]!)
const WORD = Uint8Array.from({ length: 64 }, (_, index) =>
  index < 16 ? index : index < 32 ? (5 * index + 1) % 16 : index < 48 ? (3 * index + 5) % 16 : (7 * index) % 16
)

const block = new Int32Array(16)

const writeWord = (out: Uint8Array, at: number, value: number) => {
  out[at] = value & 0xff
  out[at + 1] = (value >>> 8) & 0xff
  out[at + 2] = (value >>> 16) & 0xff
  out[at + 3] = (value >>> 24) & 0xff
}
let padded = new Uint8Array(128)

/** The MD5 digest of `data[0, length)`. */
export const md5 = (data: Uint8Array, length: number = data.length): Uint8Array =>
  md5Into(new Uint8Array(16), data, length)

/** The MD5 digest of `data[0, length)`, written into `out` (16 bytes), which it returns: no allocation. */
export const md5Into = (out: Uint8Array, data: Uint8Array, length: number = data.length): Uint8Array => {
  const total = ((length + 8) >> 6) * 64 + 64
  if (padded.length < total) padded = new Uint8Array(total * 2)
  padded.set(data.subarray(0, length))
  padded.fill(0, length, total)
  padded[length] = 0x80
  const bits = length * 8
  padded[total - 8] = bits & 0xff
  padded[total - 7] = (bits >>> 8) & 0xff
  padded[total - 6] = (bits >>> 16) & 0xff
  padded[total - 5] = (bits >>> 24) & 0xff
  const high = Math.floor(bits / 2 ** 32)
  padded[total - 4] = high & 0xff
  padded[total - 3] = (high >>> 8) & 0xff
  padded[total - 2] = (high >>> 16) & 0xff
  padded[total - 1] = (high >>> 24) & 0xff

  let a0 = 0x67452301
  let b0 = 0xefcdab89 | 0
  let c0 = 0x98badcfe | 0
  let d0 = 0x10325476
  for (let offset = 0; offset < total; offset += 64) {
    for (let word = 0; word < 16; word++) {
      const at = offset + word * 4
      block[word] = padded[at]! | (padded[at + 1]! << 8) | (padded[at + 2]! << 16) | (padded[at + 3]! << 24)
    }
    let a = a0
    let b = b0
    let c = c0
    let d = d0
    for (let step = 0; step < 64; step++) {
      let f: number
      if (step < 16) f = (b & c) | (~b & d)
      else if (step < 32) f = (d & b) | (~d & c)
      else if (step < 48) f = b ^ c ^ d
      else f = c ^ (b | ~d)
      const sum = (a + f + K[step]! + block[WORD[step]!]!) | 0
      const shift = SHIFT[step]!
      a = d
      d = c
      c = b
      b = (b + ((sum << shift) | (sum >>> (32 - shift)))) | 0
    }
    a0 = (a0 + a) | 0
    b0 = (b0 + b) | 0
    c0 = (c0 + c) | 0
    d0 = (d0 + d) | 0
  }
  writeWord(out, 0, a0)
  writeWord(out, 4, b0)
  writeWord(out, 8, c0)
  writeWord(out, 12, d0)
  return out
}
