export * from "./InMemoryConnectionStore.ts"
export * from "./InMemoryEventPublisher.ts"
export * from "./InMemoryOAuthStateStore.ts"
export * from "./InMemoryReadingStore.ts"
