export * from "./BgIngestClient.ts"
