export * from "./migrations.ts"
export * from "./SqliteConnectionStore.ts"
export * from "./SqliteDatabase.ts"
export * from "./SqliteReadingStore.ts"
