import { Context, type DateTime, type Duration, type Effect, type Option, Schema } from "effect"
import type { UserId } from "../model/Identifiers.ts"
import type { Reading } from "../model/Reading.ts"
import type { ReadingChange } from "../model/ReadingEvent.ts"
import type { TimeWindow } from "../model/TimeWindow.ts"
import { PortFailure } from "./PortFailure.ts"

export class ReadingStoreError extends Schema.TaggedError<ReadingStoreError>()("ReadingStoreError", {
  operation: Schema.Literals([
    "putMany",
    "markPublished",
    "unpublished",
    "claimUnpublished",
    "releaseUnpublished",
    "latest",
    "range",
    "deleteUser",
    "ping"
  ]),
  ...PortFailure
}) {}

/** Which end of a window a `range` starts from. */
export type RangeOrder = "oldestFirst" | "newestFirst"

export interface PutManyResult {
  readonly inserted: number
  readonly updated: number
  readonly unchanged: number
  /** What this write changed: each inserted or updated reading, with the event it owes. */
  readonly changes: ReadonlyArray<ReadingChange>
  /**
   * Unchanged readings of the batch whose earlier event was never confirmed (a failed publish, a crash). Not this
   * write's to publish in general: fifty concurrent identical deliveries would each publish them. `Ingest` leaves
   * them to the sweep (`unpublished`), except for a caller that is alone on its readings (a sync).
   */
  readonly owed: ReadonlyArray<ReadingChange>
}

/**
 * Where readings live. Identity is `(userId, timestamp)`: the same reading twice changes nothing, a different
 * measurement at the same key replaces it and counts as an update. Each reading also remembers whether its
 * event has been confirmed, so that no event is lost between the write and the publish (a transactional outbox
 * kept on the row itself), and when its publication last started (a claim, so that replicas' sweeps do not
 * re-publish what another replica is still publishing).
 */
export interface ReadingStoreShape {
  /** Stores a batch atomically where the technology allows (SQLite: one transaction). */
  readonly putMany: (readings: ReadonlyArray<Reading>) => Effect.Effect<PutManyResult, ReadingStoreError>
  /** Marks events as confirmed, for readings whose stored measurement is still the one published. */
  readonly markPublished: (readings: ReadonlyArray<Reading>) => Effect.Effect<void, ReadingStoreError>
  /** Readings whose event was never confirmed, oldest first, at most `limit`. */
  readonly unpublished: (limit: number) => Effect.Effect<ReadonlyArray<ReadingChange>, ReadingStoreError>
  /**
   * For a sweep: takes up to `limit` owed events, oldest first, whose publication nobody started within `claim`
   * before `now`, and records that this caller starts it now, so that other replicas' sweeps skip them for
   * `claim`. A write that inserts or updates a reading starts its publication (its writer publishes it), so a
   * sweep never re-publishes what a writer, or another sweep, is still waiting to have confirmed. Of replicas
   * racing for one event, one takes it.
   */
  readonly claimUnpublished: (options: {
    readonly limit: number
    readonly now: DateTime.Utc
    readonly claim: Duration.Duration
  }) => Effect.Effect<ReadonlyArray<ReadingChange>, ReadingStoreError>
  /**
   * A publication that failed: the owed events of these readings (while their stored measurement is the one that
   * failed) are free for the next sweep at once, not only when the claim ends.
   */
  readonly releaseUnpublished: (readings: ReadonlyArray<Reading>) => Effect.Effect<void, ReadingStoreError>
  readonly latest: (userId: UserId) => Effect.Effect<Option.Option<Reading>, ReadingStoreError>
  /**
   * Readings with `from <= timestamp < to`, at most `limit`: the oldest ones, oldest first; or with
   * `"newestFirst"`, the newest ones, newest first.
   */
  readonly range: (
    userId: UserId,
    window: TimeWindow,
    limit: number,
    order?: RangeOrder
  ) => Effect.Effect<ReadonlyArray<Reading>, ReadingStoreError>
  /** Deletes every reading of the user; answers how many there were. */
  readonly deleteUser: (userId: UserId) => Effect.Effect<number, ReadingStoreError>
  /** Succeeds when the store can serve requests. */
  readonly ping: Effect.Effect<void, ReadingStoreError>
}

export class ReadingStore extends Context.Service<ReadingStore, ReadingStoreShape>()(
  "@bg-ingest/domain/ReadingStore"
) {}
