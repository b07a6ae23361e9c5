import { type NightscoutRole, NightscoutSiteStore, NightscoutSiteStoreError, type UserId } from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import { tryMethods } from "../spans/PortMethods.ts"
import { SqliteDatabase } from "./SqliteDatabase.ts"
import { sqliteFailure } from "./SqliteFailure.ts"

interface SiteRow {
  readonly user_id: string
  readonly secret_hash: string
  readonly token_hash: string
  readonly created_at: number
  readonly updated_at: number
}

const failure = sqliteFailure(
  (fields: ConstructorParameters<typeof NightscoutSiteStoreError>[0]) => new NightscoutSiteStoreError(fields),
  " of a Nightscout site"
)

/** Nightscout site credentials (their digests) in the service's SQLite database; a rotation is one statement. */
export const makeSqliteNightscoutSiteStore = Effect.gen(function* () {
  const { db, transaction } = yield* SqliteDatabase
  const method = tryMethods("SqliteNightscoutSiteStore", failure)
  const select = db.prepare("SELECT * FROM nightscout_sites WHERE user_id = ?")
  const upsert = db.prepare(
    `INSERT INTO nightscout_sites (user_id, secret_hash, token_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET
       secret_hash = excluded.secret_hash, token_hash = excluded.token_hash, updated_at = excluded.updated_at`
  )
  const findSecret = db.prepare("SELECT user_id FROM nightscout_sites WHERE secret_hash = ?")
  const findToken = db.prepare("SELECT user_id FROM nightscout_sites WHERE token_hash = ?")
  const remove = db.prepare("DELETE FROM nightscout_sites WHERE user_id = ?")

  return NightscoutSiteStore.of({
    save: method("save", ({ userId, secretHash, tokenHash, at }) =>
      transaction(() => {
        const existed = select.get(userId) !== undefined
        const millis = DateTime.toEpochMillis(at)
        upsert.run(userId, secretHash, tokenHash, millis, millis)
        return { created: !existed }
      })
    ),
    get: method("get", (userId) => {
      const row = select.get(userId) as SiteRow | undefined
      return row === undefined
        ? Option.none()
        : Option.some({
            userId: row.user_id as UserId,
            secretHash: row.secret_hash,
            tokenHash: row.token_hash,
            createdAt: DateTime.makeUnsafe(row.created_at),
            updatedAt: DateTime.makeUnsafe(row.updated_at)
          })
    }),
    find: method("find", (hash) => {
      const asSecret = findSecret.get(hash) as { readonly user_id: string } | undefined
      const found: [{ readonly user_id: string } | undefined, NightscoutRole] =
        asSecret === undefined
          ? [findToken.get(hash) as { readonly user_id: string } | undefined, "follower"]
          : [asSecret, "uploader"]
      const [row, role] = found
      return row === undefined ? Option.none() : Option.some({ userId: row.user_id as UserId, role })
    }),
    remove: method("remove", (userId) => remove.run(userId).changes > 0)
  })
})

export const SqliteNightscoutSiteStore = {
  /** Needs a `SqliteDatabase`. */
  layer: Layer.effect(NightscoutSiteStore, makeSqliteNightscoutSiteStore)
} as const
