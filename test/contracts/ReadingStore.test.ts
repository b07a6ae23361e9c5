import { InMemoryReadingStore } from "@bg-ingest/adapters"
import { sqliteStoresLayer } from "../support/sqlite.ts"
import { readingStoreContract } from "./ReadingStoreContract.ts"
import { readingStoreModelTest } from "./ReadingStoreModel.ts"

readingStoreContract("memory", () => InMemoryReadingStore.layer)
readingStoreContract("sqlite", sqliteStoresLayer)

readingStoreModelTest("memory", () => InMemoryReadingStore.layer, { runs: 200 })
readingStoreModelTest("sqlite", sqliteStoresLayer, { runs: 100 })
