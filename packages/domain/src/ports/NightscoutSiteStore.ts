import { Context, type DateTime, type Effect, type Option, Schema } from "effect"
import type { UserId } from "../model/Identifiers.ts"
import { PortFailure } from "./PortFailure.ts"

export class NightscoutSiteStoreError extends Schema.TaggedError<NightscoutSiteStoreError>()(
  "NightscoutSiteStoreError",
  {
    operation: Schema.Literals(["save", "get", "find", "remove"]),
    ...PortFailure
  }
) {}

/**
 * What a credential of a user's Nightscout site lets its holder do: the `uploader` (the API secret) reads and
 * writes, the `follower` (the read token) only reads.
 */
export type NightscoutRole = "uploader" | "follower"

/**
 * A user's Nightscout site, as stored: only digests of its two credentials (lower-case hex), never the
 * credentials themselves, so that a copy of the store opens no site.
 */
export interface NightscoutSite {
  readonly userId: UserId
  readonly secretHash: string
  readonly tokenHash: string
  readonly createdAt: DateTime.Utc
  readonly updatedAt: DateTime.Utc
}

export interface NightscoutCredentialMatch {
  readonly userId: UserId
  readonly role: NightscoutRole
}

export interface NightscoutSiteStoreShape {
  /**
   * Creates the user's site or replaces its credentials, atomically: from the moment it succeeds exactly the given
   * digests are valid for the user, on every replica, and the previous ones resolve to nothing. Of concurrent saves
   * for one user, the last to commit wins and the others' digests are dead. `createdAt` is kept from the first save.
   * Answers whether the site was created (rather than rotated).
   */
  readonly save: (site: {
    readonly userId: UserId
    readonly secretHash: string
    readonly tokenHash: string
    readonly at: DateTime.Utc
  }) => Effect.Effect<{ readonly created: boolean }, NightscoutSiteStoreError>
  readonly get: (userId: UserId) => Effect.Effect<Option.Option<NightscoutSite>, NightscoutSiteStoreError>
  /**
   * The user and role a digest is the current credential of (strongly consistent: a rotated or closed site's
   * digests find nothing); none for any other digest.
   */
  readonly find: (hash: string) => Effect.Effect<Option.Option<NightscoutCredentialMatch>, NightscoutSiteStoreError>
  /** Closes the user's site: its digests find nothing from then on. Answers whether it existed. */
  readonly remove: (userId: UserId) => Effect.Effect<boolean, NightscoutSiteStoreError>
}

/** Where the credentials of every user's Nightscout-compatible site live. */
export class NightscoutSiteStore extends Context.Service<NightscoutSiteStore, NightscoutSiteStoreShape>()(
  "@bg-ingest/domain/NightscoutSiteStore"
) {}
