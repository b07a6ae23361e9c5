export * from "./memory/index.ts"
export * from "./rabbitmq/index.ts"
export * from "./simulator/index.ts"
export * from "./sqlite/index.ts"
