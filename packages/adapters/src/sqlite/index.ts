export * from "./SqliteConnectionStore.ts"
export * from "./SqliteDatabase.ts"
export * from "./SqliteOAuthStateStore.ts"
export * from "./SqliteReadingStore.ts"
