export * from "./ProviderHttp.ts"
