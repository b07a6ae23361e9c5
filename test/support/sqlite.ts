import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { SqliteConnectionStore, SqliteDatabase, SqliteReadingStore } from "@bg-ingest/adapters"
import { Effect, Layer } from "effect"

/** A scratch directory removed when the layer is released. */
export const scratchDirectory = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "bg-ingest-test-"))),
  (directory) => Effect.sync(() => rmSync(directory, { recursive: true, force: true }))
)

/** A fresh SQLite database file in a scratch directory, with both stores on it. */
export const sqliteStoresLayer = () =>
  Layer.unwrap(
    Effect.map(scratchDirectory, (directory) =>
      Layer.mergeAll(SqliteReadingStore.layer, SqliteConnectionStore.layer).pipe(
        Layer.provideMerge(SqliteDatabase.layer({ filename: join(directory, "bg-ingest.db") }))
      )
    )
  )
