import { InMemoryReadingStore } from "@bg-ingest/adapters"
import { sqliteStoresLayer } from "../support/sqlite.ts"
import { readingStoreContract } from "./ReadingStoreContract.ts"

readingStoreContract("memory", () => InMemoryReadingStore.layer)
readingStoreContract("sqlite", sqliteStoresLayer)
