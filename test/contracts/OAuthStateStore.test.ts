import { join } from "node:path"
import { InMemoryOAuthStateStore, SqliteDatabase, SqliteOAuthStateStore } from "@bg-ingest/adapters"
import { Effect, Layer } from "effect"
import { scratchDirectory } from "../support/sqlite.ts"
import { oauthStateStoreContract } from "./OAuthStateStoreContract.ts"

oauthStateStoreContract("memory", () => InMemoryOAuthStateStore.layer)
oauthStateStoreContract("sqlite", () =>
  Layer.unwrap(
    Effect.map(scratchDirectory, (directory) =>
      SqliteOAuthStateStore.layer.pipe(
        Layer.provide(SqliteDatabase.layer({ filename: join(directory, "bg-ingest.db") }))
      )
    )
  )
)
