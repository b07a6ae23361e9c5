import { OAuthStateStore, OAuthStateStoreError, PendingAuthorization } from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option, Schema } from "effect"
import { tryMethods } from "../spans/PortMethods.ts"
import { SqliteDatabase } from "./SqliteDatabase.ts"
import { sqliteFailure } from "./SqliteFailure.ts"

interface StateRow {
  readonly state_hash: string
  readonly user_id: string
  readonly provider: string
  readonly created_at: number
  readonly expires_at: number
}

/** Expired entries are kept this long, so that a late callback is told "expired" rather than "unknown". */
export const EXPIRED_STATE_RETENTION_MILLIS = 60 * 60 * 1000

const failure = sqliteFailure(
  (fields: ConstructorParameters<typeof OAuthStateStoreError>[0]) => new OAuthStateStoreError(fields),
  " of an OAuth state"
)

const decodePending = Schema.decodeUnknownSync(PendingAuthorization)

/** Pending authorizations in the service's SQLite database: they survive a restart. */
export const makeSqliteOAuthStateStore = Effect.gen(function* () {
  const { db, transaction } = yield* SqliteDatabase
  const method = tryMethods("SqliteOAuthStateStore", failure)
  const insert = db.prepare(
    "INSERT INTO oauth_states (state_hash, user_id, provider, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"
  )
  const purge = db.prepare("DELETE FROM oauth_states WHERE expires_at < ?")
  const consume = db.prepare("DELETE FROM oauth_states WHERE state_hash = ? RETURNING *")

  return OAuthStateStore.of({
    put: method("put", (pending) =>
      transaction(() => {
        const createdAt = DateTime.toEpochMillis(pending.createdAt)
        purge.run(createdAt - EXPIRED_STATE_RETENTION_MILLIS)
        insert.run(
          pending.stateHash,
          pending.userId,
          pending.provider,
          createdAt,
          DateTime.toEpochMillis(pending.expiresAt)
        )
      })
    ),
    consume: method("consume", (stateHash) => {
      const row = consume.get(stateHash) as StateRow | undefined
      return row === undefined
        ? Option.none()
        : Option.some(
            decodePending({
              stateHash: row.state_hash,
              userId: row.user_id,
              provider: row.provider,
              createdAt: DateTime.makeUnsafe(row.created_at),
              expiresAt: DateTime.makeUnsafe(row.expires_at)
            })
          )
    })
  })
})

export const SqliteOAuthStateStore = {
  /** Needs a `SqliteDatabase`. */
  layer: Layer.effect(OAuthStateStore, makeSqliteOAuthStateStore)
} as const
