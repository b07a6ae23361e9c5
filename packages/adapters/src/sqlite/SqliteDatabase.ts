import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from "node:fs"
import { dirname } from "node:path"
import { DatabaseSync } from "node:sqlite"
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { type Migration, migrations } from "./migrations.ts"

export class SqliteOpenError extends Schema.TaggedError<SqliteOpenError>()("SqliteOpenError", {
  filename: Schema.String,
  message: Schema.String
}) {}

export interface SqliteDatabaseShape {
  readonly filename: string
  readonly db: DatabaseSync
  /** Runs `body` in one write transaction (BEGIN IMMEDIATE … COMMIT), rolled back if it throws. */
  readonly transaction: <A>(body: () => A) => A
  /** The schema version after migrations. */
  readonly schemaVersion: number
}

/** An open `node:sqlite` database with the bg-ingest schema migrated, closed when its layer is released. */
export class SqliteDatabase extends Context.Service<SqliteDatabase, SqliteDatabaseShape>()(
  "@bg-ingest/adapters/sqlite/SqliteDatabase"
) {
  static readonly layer = (options: { readonly filename: string }): Layer.Layer<SqliteDatabase, SqliteOpenError> =>
    Layer.effect(
      SqliteDatabase,
      Effect.acquireRelease(
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.try({
            try: () => openDatabase(options.filename, migrations, new Date(now)),
            catch: (cause) =>
              new SqliteOpenError({
                filename: options.filename,
                message: `Cannot open the SQLite database ${options.filename}: ${cause instanceof Error ? cause.message : String(cause)}`
              })
          })
        ),
        (database) => Effect.sync(() => database.db.close())
      )
    )
}

const makeTransaction =
  (db: DatabaseSync) =>
  <A>(body: () => A): A => {
    db.exec("BEGIN IMMEDIATE")
    try {
      const result = body()
      db.exec("COMMIT")
      return result
    } catch (error) {
      if (db.isTransaction) db.exec("ROLLBACK")
      throw error
    }
  }

/**
 * Readings are health data: the database and its WAL and shared-memory files are the service user's only (SQLite
 * creates the WAL and SHM files with the database file's permissions), and a directory made for them is too.
 */
const restrictFiles = (filename: string) => {
  mkdirSync(dirname(filename), { recursive: true, mode: 0o700 })
  closeSync(openSync(filename, "a", 0o600))
  for (const file of [filename, `${filename}-wal`, `${filename}-shm`]) if (existsSync(file)) chmodSync(file, 0o600)
}

/** Opens and migrates `filename`; `appliedAt` is recorded with each migration it applies. */
export const openDatabase = (
  filename: string,
  known: ReadonlyArray<Migration>,
  appliedAt: Date = new Date()
): SqliteDatabaseShape => {
  if (filename !== ":memory:") restrictFiles(filename)
  const db = new DatabaseSync(filename, { timeout: 5000 })
  try {
    db.exec("PRAGMA journal_mode = WAL")
    // FULL: a committed batch survives a power loss, not only a crash. Glucose readings are not re-fetchable forever.
    db.exec("PRAGMA synchronous = FULL")
    db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    const transaction = makeTransaction(db)
    const row = db.prepare("SELECT COALESCE(MAX(version), 0) AS version FROM schema_migrations").get() as {
      version: number
    }
    const newestKnown = known.at(-1)?.version ?? 0
    if (row.version > newestKnown) {
      throw new Error(
        `its schema is at version ${row.version}, newer than this build knows (${newestKnown}); run a newer bg-ingest`
      )
    }
    const record = db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
    for (const migration of known) {
      if (migration.version <= row.version) continue
      transaction(() => {
        db.exec(migration.sql)
        record.run(migration.version, migration.name, appliedAt.toISOString())
      })
    }
    return { filename, db, transaction, schemaVersion: Math.max(row.version, newestKnown) }
  } catch (error) {
    db.close()
    throw error
  }
}
