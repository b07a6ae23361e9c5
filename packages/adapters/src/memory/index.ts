export * from "./InMemoryConnectionStore.ts"
export * from "./InMemoryEventPublisher.ts"
export * from "./InMemoryReadingStore.ts"
