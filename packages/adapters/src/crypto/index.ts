export * from "./TokenCipher.ts"
export * from "./TokenEncryptionKey.ts"
