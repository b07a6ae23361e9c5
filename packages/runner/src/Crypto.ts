import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import { Layer } from "effect"

/**
 * The one implementation of `effect/crypto` the service runs on, chosen here and nowhere else: Node's (digests
 * and HMAC on `node:crypto`, random bytes and AES-GCM on WebCrypto). The domain, the adapters and the HTTP
 * handlers ask for the services (`SecureRandom`, `Digest`, `Mac`, `Aead`) and never pick one.
 */
export const cryptoLayer = Layer.mergeAll(
  NodeCrypto.layerSecureRandom,
  NodeCrypto.layerDigest,
  NodeCrypto.layerMac,
  NodeCrypto.layerAead
)

/** The `effect/crypto` services the other layers ask for. */
export type CryptoServices = Layer.Success<typeof cryptoLayer>
