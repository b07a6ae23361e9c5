import { InMemoryConnectionStore } from "@bg-ingest/adapters"
import { sqliteStoresLayer } from "../support/sqlite.ts"
import { connectionStoreContract } from "./ConnectionStoreContract.ts"

connectionStoreContract("memory", () => InMemoryConnectionStore.layer)
connectionStoreContract("sqlite", sqliteStoresLayer)
