import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { DEVELOPMENT_KEY_FILE, loadTokenEncryptionKey, parseTokenEncryptionKey, TokenCipher } from "@bg-ingest/adapters"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Result } from "effect"
import { testCrypto } from "../../support/crypto.ts"
import { TEST_TOKEN_KEY } from "../../support/dexcom.ts"

const otherKey = Redacted.make(Uint8Array.from({ length: 32 }, (_, i) => 255 - i))
const withCipher = <A, E>(
  key: Redacted.Redacted<Uint8Array>,
  body: (cipher: TokenCipher["Service"]) => Effect.Effect<A, E>
) =>
  Effect.gen(function* () {
    return yield* body(yield* TokenCipher)
  }).pipe(Effect.provide(TokenCipher.layer(key).pipe(Layer.provide(testCrypto))))

const secret = '{"accessToken":"at-123","refreshToken":"rt-456","accessTokenExpiresAt":1}'

describe("TokenCipher", () => {
  it.effect("round-trips, with a fresh nonce each time and nothing of the plaintext visible", () =>
    withCipher(TEST_TOKEN_KEY, (cipher) =>
      Effect.gen(function* () {
        const a = yield* cipher.seal(secret, "dexcom:u1")
        const b = yield* cipher.seal(secret, "dexcom:u1")
        assert.notStrictEqual(a, b)
        assert.match(a, /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
        assert.notInclude(a, "at-123")
        assert.strictEqual(yield* cipher.open(a, "dexcom:u1"), secret)
        assert.strictEqual(yield* cipher.open(b, "dexcom:u1"), secret)
      })
    )
  )

  it.effect("detects tampering and a value moved to another owner", () =>
    withCipher(TEST_TOKEN_KEY, (cipher) =>
      Effect.gen(function* () {
        const sealed = yield* cipher.seal(secret, "dexcom:u1")
        const parts = sealed.split(".")
        const body = parts[3]!
        const flipped = `${body.slice(0, 5)}${body[5] === "A" ? "B" : "A"}${body.slice(6)}`
        const tampered = [...parts.slice(0, 3), flipped].join(".")
        assert.strictEqual((yield* Effect.flip(cipher.open(tampered, "dexcom:u1"))).reason, "tampered")
        assert.strictEqual((yield* Effect.flip(cipher.open(sealed, "dexcom:u2"))).reason, "tampered")
        for (const broken of ["", "v1.x", "v2.a.b.c", `${sealed}.extra`, sealed.replace(/\.[^.]+\./, ".!!!.")]) {
          const error = yield* Effect.flip(cipher.open(broken, "dexcom:u1"))
          assert.include(["malformed", "wrong_key"], error.reason)
        }
      })
    )
  )

  it.effect("tells a different key apart, without revealing either", () =>
    Effect.gen(function* () {
      const sealed = yield* withCipher(TEST_TOKEN_KEY, (cipher) => cipher.seal(secret, "dexcom:u1"))
      const error = yield* Effect.flip(withCipher(otherKey, (cipher) => cipher.open(sealed, "dexcom:u1")))
      assert.strictEqual(error.reason, "wrong_key")
      assert.include(error.message, "TOKEN_ENCRYPTION_KEY")
    })
  )
})

describe("token encryption key", () => {
  const hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

  it("accepts 32 bytes as hex, base64 or base64url, and nothing else", () => {
    const bytes = Result.getOrThrow(parseTokenEncryptionKey(hex))
    assert.strictEqual(bytes.length, 32)
    assert.deepStrictEqual(Result.getOrThrow(parseTokenEncryptionKey(Buffer.from(bytes).toString("base64"))), bytes)
    assert.deepStrictEqual(Result.getOrThrow(parseTokenEncryptionKey(Buffer.from(bytes).toString("base64url"))), bytes)
    for (const bad of ["", "short", hex.slice(2), Buffer.alloc(16).toString("base64"), `${hex}00`]) {
      const result = parseTokenEncryptionKey(bad)
      assert.isTrue(Result.isFailure(result), bad)
      if (Result.isFailure(result) && bad.length > 4) assert.notInclude(result.failure, bad)
    }
  })

  it.effect("uses TOKEN_ENCRYPTION_KEY when set, and says what is wrong without echoing it", () =>
    Effect.gen(function* () {
      const key = yield* loadTokenEncryptionKey({
        key: Option.some(Redacted.make(hex)),
        appEnv: "production",
        dataDir: "/nonexistent"
      })
      assert.strictEqual(Buffer.from(Redacted.value(key)).toString("hex"), hex)
      const error = yield* Effect.flip(
        loadTokenEncryptionKey({
          key: Option.some(Redacted.make("not-a-key-value")),
          appEnv: "development",
          dataDir: "/x"
        })
      )
      assert.include(error.message, "TOKEN_ENCRYPTION_KEY")
      assert.notInclude(error.message, "not-a-key-value")
    }).pipe(Effect.provide(testCrypto))
  )

  it.effect("is required outside development", () =>
    Effect.gen(function* () {
      for (const appEnv of ["staging", "production"] as const) {
        const error = yield* Effect.flip(loadTokenEncryptionKey({ key: Option.none(), appEnv, dataDir: "/x" }))
        assert.include(error.message, "required")
      }
    }).pipe(Effect.provide(testCrypto))
  )

  it.effect("in development without one, generates a key once in DATA_DIR (mode 600) and reuses it", () =>
    Effect.gen(function* () {
      const dataDir = join(mkdtempSync(join(tmpdir(), "bg-ingest-key-")), "data")
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dataDir, { recursive: true, force: true })))
      const first = yield* loadTokenEncryptionKey({ key: Option.none(), appEnv: "development", dataDir })
      const path = join(dataDir, DEVELOPMENT_KEY_FILE)
      assert.isTrue(existsSync(path))
      assert.strictEqual(statSync(path).mode & 0o777, 0o600)
      assert.strictEqual(readFileSync(path, "utf8").trim(), Buffer.from(Redacted.value(first)).toString("base64"))
      const second = yield* loadTokenEncryptionKey({ key: Option.none(), appEnv: "development", dataDir })
      assert.deepStrictEqual(Redacted.value(second), Redacted.value(first))
      // Tokens sealed under the first run's key open under the second's.
      const sealed = yield* withCipher(first, (cipher) => cipher.seal(secret, "c"))
      assert.strictEqual(yield* withCipher(second, (cipher) => cipher.open(sealed, "c")), secret)
    }).pipe(Effect.provide(testCrypto))
  )
})
