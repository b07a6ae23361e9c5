import {
  OAuthStateStore,
  OAuthStateStoreError,
  type PendingAuthorization,
  type ProviderId,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import { SqliteDatabase } from "./SqliteDatabase.ts"

interface StateRow {
  readonly state_hash: string
  readonly user_id: string
  readonly provider: string
  readonly created_at: number
  readonly expires_at: number
}

/** Expired entries are kept this long, so that a late callback is told "expired" rather than "unknown". */
export const EXPIRED_STATE_RETENTION_MILLIS = 60 * 60 * 1000

const failure = (operation: OAuthStateStoreError["operation"]) => (cause: unknown) =>
  new OAuthStateStoreError({
    operation,
    message: `SQLite ${operation} of an OAuth state failed: ${cause instanceof Error ? cause.message : String(cause)}`,
    cause
  })

/** Pending authorizations in the service's SQLite database: they survive a restart. */
export const makeSqliteOAuthStateStore = Effect.gen(function* () {
  const { db, transaction } = yield* SqliteDatabase
  const insert = db.prepare(
    "INSERT INTO oauth_states (state_hash, user_id, provider, created_at, expires_at) VALUES (?, ?, ?, ?, ?)"
  )
  const purge = db.prepare("DELETE FROM oauth_states WHERE expires_at < ?")
  const consume = db.prepare("DELETE FROM oauth_states WHERE state_hash = ? RETURNING *")

  return OAuthStateStore.of({
    put: (pending: PendingAuthorization) =>
      Effect.try({
        try: () =>
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
          }),
        catch: failure("put")
      }),
    consume: (stateHash) =>
      Effect.try({
        try: () => {
          const row = consume.get(stateHash) as StateRow | undefined
          return row === undefined
            ? Option.none()
            : Option.some({
                stateHash: row.state_hash,
                userId: row.user_id as UserId,
                provider: row.provider as ProviderId,
                createdAt: DateTime.makeUnsafe(row.created_at),
                expiresAt: DateTime.makeUnsafe(row.expires_at)
              })
        },
        catch: failure("consume")
      })
  })
})

export const SqliteOAuthStateStore = {
  /** Needs a `SqliteDatabase`. */
  layer: Layer.effect(OAuthStateStore, makeSqliteOAuthStateStore)
} as const
