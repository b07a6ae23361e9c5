export * from "./SecretsManagerVariables.ts"
