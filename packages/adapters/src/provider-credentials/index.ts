export * from "./CredentialVault.ts"
export * from "./UserSessions.ts"
