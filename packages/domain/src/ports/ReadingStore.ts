import { Context, type Effect, type Option, Schema } from "effect"
import type { UserId } from "../model/Identifiers.ts"
import type { Reading } from "../model/Reading.ts"
import type { ReadingChange } from "../model/ReadingEvent.ts"
import type { TimeWindow } from "../model/TimeWindow.ts"
import { PortFailure } from "./PortFailure.ts"

export class ReadingStoreError extends Schema.TaggedError<ReadingStoreError>()("ReadingStoreError", {
  operation: Schema.Literals(["putMany", "markPublished", "unpublished", "latest", "range", "deleteUser", "ping"]),
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
 * kept on the row itself).
 */
export interface ReadingStoreShape {
  /** Stores a batch atomically where the technology allows (SQLite: one transaction). */
  readonly putMany: (readings: ReadonlyArray<Reading>) => Effect.Effect<PutManyResult, ReadingStoreError>
  /** Marks events as confirmed, for readings whose stored measurement is still the one published. */
  readonly markPublished: (readings: ReadonlyArray<Reading>) => Effect.Effect<void, ReadingStoreError>
  /** Readings whose event was never confirmed, oldest first, at most `limit`. */
  readonly unpublished: (limit: number) => Effect.Effect<ReadonlyArray<ReadingChange>, ReadingStoreError>
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
