import { join } from "node:path"
import { InMemoryNightscoutSiteStore, SqliteDatabase, SqliteNightscoutSiteStore } from "@bg-ingest/adapters"
import { Effect, Layer } from "effect"
import { scratchDirectory } from "../support/sqlite.ts"
import { nightscoutSiteStoreContract } from "./NightscoutSiteStoreContract.ts"

nightscoutSiteStoreContract("memory", () => InMemoryNightscoutSiteStore.layer)
nightscoutSiteStoreContract("sqlite", () =>
  Layer.unwrap(
    Effect.map(scratchDirectory, (directory) =>
      SqliteNightscoutSiteStore.layer.pipe(
        Layer.provide(SqliteDatabase.layer({ filename: join(directory, "bg-ingest.db") }))
      )
    )
  )
)
