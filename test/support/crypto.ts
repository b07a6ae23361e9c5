import { NodeCrypto } from "@effect/platform-node"
import { Layer } from "effect"

/** `effect/crypto` as the service runs on it (packages/runner/src/Crypto.ts): Node's implementation. */
export const testCrypto = Layer.mergeAll(
  NodeCrypto.layerSecureRandom,
  NodeCrypto.layerDigest,
  NodeCrypto.layerMac,
  NodeCrypto.layerAead
)
