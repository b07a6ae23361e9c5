import { Context, Effect, Layer, Redacted, Result, Schema } from "effect"
import { Aead, Digest, SecureRandom } from "effect/crypto"
import { Base64Url } from "effect/encoding"

/** Why sealed credentials could not be opened. The message never contains any part of the sealed text. */
export class TokenDecryptionFailed extends Schema.TaggedError<TokenDecryptionFailed>()("TokenDecryptionFailed", {
  reason: Schema.Literals(["malformed", "wrong_key", "tampered"]),
  message: Schema.String
}) {}

export interface TokenCipherShape {
  /** A short fingerprint of the key (not secret): sealed values carry it, so a key change is told apart from tampering. */
  readonly keyId: string
  /**
   * Encrypts `plaintext` with AES-256-GCM under a fresh random nonce. `context` (such as the owner of the
   * credentials) is authenticated with it: a sealed value copied to another owner does not open.
   */
  readonly seal: (plaintext: string, context: string) => Effect.Effect<string>
  readonly open: (sealed: string, context: string) => Effect.Effect<string, TokenDecryptionFailed>
}

const FORMAT = "v1"
const NONCE_BYTES = 12
const encoder = new TextEncoder()
const decoder = new TextDecoder()

const associatedData = (keyId: string, context: string) => encoder.encode(`bg-ingest/${FORMAT}/${keyId}/${context}`)

/**
 * Encrypts provider credentials at rest (a leaked table must not leak a token): AES-256-GCM with `TOKEN_ENCRYPTION_KEY`, as
 * `v1.<key id>.<nonce>.<ciphertext and tag>` in base64url.
 */
export class TokenCipher extends Context.Service<TokenCipher, TokenCipherShape>()(
  "@bg-ingest/adapters/crypto/TokenCipher"
) {
  static readonly make = Effect.fnUntraced(function* (keyBytes: Redacted.Redacted<Uint8Array>) {
    const aead = yield* Aead.Aead
    const random = yield* SecureRandom.SecureRandom
    const digest = yield* Digest.Digest
    const key = yield* Aead.key(Aead.aes256Gcm, Redacted.value(keyBytes)).pipe(Effect.orDie)
    const fingerprint = yield* digest.digestHex(
      Digest.sha256,
      new Uint8Array([...encoder.encode("bg-ingest token key id\u0000"), ...Redacted.value(keyBytes)])
    )
    const keyId = fingerprint.slice(0, 8)

    const seal = (plaintext: string, context: string) =>
      Effect.gen(function* () {
        const nonce = yield* random.randomBytes(NONCE_BYTES)
        const ciphertext = yield* aead
          .encrypt(key, encoder.encode(plaintext), { nonce, aad: associatedData(keyId, context) })
          .pipe(Effect.orDie)
        return [FORMAT, keyId, Base64Url.encode(nonce), Base64Url.encode(ciphertext)].join(".")
      })

    const open = (sealed: string, context: string) =>
      Effect.gen(function* () {
        const parts = sealed.split(".")
        const malformed = new TokenDecryptionFailed({
          reason: "malformed",
          message: "The stored credentials are not in the expected encrypted format"
        })
        if (parts.length !== 4 || parts[0] !== FORMAT) return yield* malformed
        const [, sealedKeyId, nonceText, ciphertextText] = parts as [string, string, string, string]
        if (sealedKeyId !== keyId) {
          return yield* new TokenDecryptionFailed({
            reason: "wrong_key",
            message: `The stored credentials were encrypted with another key (id ${sealedKeyId}, current key id ${keyId}): was TOKEN_ENCRYPTION_KEY changed?`
          })
        }
        const nonce = Base64Url.decode(nonceText)
        const ciphertext = Base64Url.decode(ciphertextText)
        if (Result.isFailure(nonce) || Result.isFailure(ciphertext) || nonce.success.length !== NONCE_BYTES) {
          return yield* malformed
        }
        const plaintext = yield* aead
          .decrypt(key, ciphertext.success, { nonce: nonce.success, aad: associatedData(keyId, context) })
          .pipe(
            Effect.mapError(
              () =>
                new TokenDecryptionFailed({
                  reason: "tampered",
                  message: "The stored credentials failed their integrity check (altered, or stored for another owner)"
                })
            )
          )
        return decoder.decode(plaintext)
      })

    return TokenCipher.of({ keyId, seal, open })
  })

  /**
   * A cipher on the given 32-byte key (see `loadTokenEncryptionKey`), on `effect/crypto`'s `Aead`, `Digest` and
   * `SecureRandom`, whose implementation the composition root chooses.
   */
  static readonly layer = (
    keyBytes: Redacted.Redacted<Uint8Array>
  ): Layer.Layer<TokenCipher, never, Aead.Aead | Digest.Digest | SecureRandom.SecureRandom> =>
    Layer.effect(TokenCipher, TokenCipher.make(keyBytes))
}
