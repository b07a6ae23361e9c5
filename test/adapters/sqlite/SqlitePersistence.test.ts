import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { migrations, SqliteConnectionStore, SqliteDatabase, SqliteReadingStore } from "@bg-ingest/adapters/sqlite"
import { ConnectionStore, makeWindow, ProviderId, ReadingStore } from "@bg-ingest/domain"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option } from "effect"
import { at, connection, plain, series, user } from "../../support/fixtures.ts"

const directory = mkdtempSync(join(tmpdir(), "bg-ingest-persist-"))
afterAll(() => rmSync(directory, { recursive: true, force: true }))
const filename = join(directory, "bg-ingest.db")

const stores = () =>
  Layer.mergeAll(SqliteReadingStore.layer, SqliteConnectionStore.layer).pipe(
    Layer.provideMerge(SqliteDatabase.layer({ filename }))
  )

describe("SQLite persistence across restarts", () => {
  it.live("readings, owed events and connection cursors survive closing and reopening the file", () =>
    Effect.gen(function* () {
      const readings = series("u1", 300)
      yield* Effect.gen(function* () {
        const store = yield* ReadingStore
        yield* store.putMany(readings)
        yield* store.markPublished(readings.slice(0, 200))
        yield* ConnectionStore.use((connections) =>
          connections.upsert(connection("u1", "dexcom", { syncedThrough: at(999), credentials: "blob" }))
        )
      }).pipe(Effect.provide(stores()))

      yield* Effect.gen(function* () {
        const store = yield* ReadingStore
        const stored = yield* store.range(user("u1"), makeWindow(at(0), at(10_000)), 1000)
        assert.deepStrictEqual(plain(stored), plain(readings))
        const owed = yield* store.unpublished(1000)
        assert.strictEqual(owed.length, 100)
        const saved = yield* ConnectionStore.use((connections) =>
          connections.get(user("u1"), ProviderId.make("dexcom"))
        )
        const value = Option.getOrThrow(saved)
        assert.strictEqual(DateTime.toEpochMillis(value.syncedThrough!), DateTime.toEpochMillis(at(999)))
        assert.strictEqual(value.credentials, "blob")
        const database = yield* SqliteDatabase
        assert.strictEqual(database.schemaVersion, migrations.at(-1)!.version)
      }).pipe(Effect.provide(stores()))
    })
  )

  it.live("a database newer than this build is refused with a clear message", () =>
    Effect.gen(function* () {
      yield* Effect.gen(function* () {
        const { db } = yield* SqliteDatabase
        db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'now')").run()
      }).pipe(Effect.provide(SqliteDatabase.layer({ filename: join(directory, "future.db") })))
      const error = yield* Effect.flip(
        Effect.provide(Effect.void, SqliteDatabase.layer({ filename: join(directory, "future.db") }))
      )
      assert.strictEqual(error._tag, "SqliteOpenError")
      assert.include(error.message, "newer than this build knows")
    })
  )
})
