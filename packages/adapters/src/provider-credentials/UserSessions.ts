import { makeKeyedLock, type UserId } from "@bg-ingest/domain"
import { Effect } from "effect"
import type { CredentialVault } from "./CredentialVault.ts"

/** A session opened with a user's stored credentials. */
export interface SealedSession {
  /** The stored (sealed) credentials the session was opened with: new credentials mean a new session. */
  readonly sealed: string
}

/**
 * The sessions a provider opened for its users, kept in this process's memory with the sealed credentials each
 * was opened with: new credentials mean a new session, and a user whose credentials are gone loses theirs.
 * Sessions are opened inside `locked`, one at a time per user, so that a caller that waited finds the one opened.
 */
export const makeUserSessions = <S extends SealedSession>(vault: Pick<CredentialVault<unknown>, "sealedOf">) => {
  const sessions = new Map<UserId, S>()
  const withUserLock = makeKeyedLock()

  /** The user's stored (sealed) credentials, and the session kept for exactly those, if any. */
  const current = Effect.fnUntraced(function* (userId: UserId) {
    const sealed = yield* vault
      .sealedOf(userId)
      .pipe(Effect.tapErrorTag("NeedsReauthorization", () => Effect.sync(() => sessions.delete(userId))))
    const kept = sessions.get(userId)
    return { sealed, kept: kept?.sealed === sealed ? kept : undefined }
  })

  return {
    locked: <A, E, R>(userId: UserId, effect: Effect.Effect<A, E, R>) => withUserLock(userId, effect),
    current,
    get: (userId: UserId): S | undefined => sessions.get(userId),
    keep: (userId: UserId, session: S): void => {
      sessions.set(userId, session)
    },
    forget: (userId: UserId): void => {
      sessions.delete(userId)
    }
  }
}
