import { Context, DateTime, Duration, Effect, Layer, Metric } from "effect"
import type { UserId } from "../model/Identifiers.ts"
import { isHoldableInstant } from "../model/Instant.ts"
import type { Reading } from "../model/Reading.ts"
import { makeReadingEvent, type ReadingChange } from "../model/ReadingEvent.ts"
import { countIngested, countSetAside, eventPublishFailures, eventsPublished } from "../observability/Metrics.ts"
import { type EventPublishError, EventPublisher } from "../ports/EventPublisher.ts"
import { ReadingStore, type ReadingStoreError } from "../ports/ReadingStore.ts"

export interface IngestResult {
  readonly received: number
  readonly inserted: number
  readonly updated: number
  readonly unchanged: number
}

export interface IngestOptions {
  /**
   * Also publish the events that unchanged readings of the batch still owe from an earlier attempt. Only for a
   * caller that is alone on these readings (a sync: one at a time per connection), whose cursor may pass a reading
   * only once its event is confirmed. Others leave them to the sweep, or fifty concurrent identical deliveries
   * would each publish them.
   */
  readonly publishOwed?: boolean
}

/**
 * How long a publication (a writer's, or a sweep's) keeps its owed events from other sweeps: longer than the
 * broker's confirm timeout and the store calls around it.
 */
export const DEFAULT_PUBLISH_CLAIM = Duration.minutes(1)

/** Readings stored (and their events published) per store call. */
export const INGEST_PIECE = 2_000

/**
 * Stores readings idempotently and publishes one event per reading this call inserted or updated. It succeeds
 * only when those readings are stored and their events confirmed. The store remembers every event never
 * confirmed (a failed publish, a crash): those are owed to the sweep (`republishUnconfirmed`, run by the
 * scheduler), not to whichever caller stores the same reading next, so concurrent identical deliveries publish
 * each event once (a sync, alone on its connection's window, settles them itself: `publishOwed`). Shared by
 * polling and the webhook.
 *
 * A reading whose instant the service cannot hold (outside 1970–9999) is never stored: every boundary refuses it
 * first, and one that slips through an adapter is set aside here (logged, counted), so that it can never stop an
 * encoding or a sweep for everyone else.
 */
export class Ingest extends Context.Service<
  Ingest,
  {
    readonly ingest: (
      userId: UserId,
      readings: ReadonlyArray<Reading>,
      options?: IngestOptions
    ) => Effect.Effect<IngestResult, ReadingStoreError | EventPublishError>
    /**
     * Publishes events that an earlier attempt stored but never got confirmed; answers how many. Only those whose
     * publication nobody started within `claim` (default `DEFAULT_PUBLISH_CLAIM`): what a writer or another
     * replica's sweep is still waiting to have confirmed is left to it. A failed publication gives its events up
     * at once.
     */
    readonly republishUnconfirmed: (
      limit: number,
      claim?: Duration.Duration
    ) => Effect.Effect<number, ReadingStoreError | EventPublishError>
    /** The unix time (seconds) of the newest reading this process stored, one per user, in no order. */
    readonly newestReadings: Effect.Effect<ReadonlyArray<number>>
  }
>()("@bg-ingest/domain/Ingest", {
  make: Effect.gen(function* () {
    const store = yield* ReadingStore
    const publisher = yield* EventPublisher

    const newestByUser = new Map<UserId, number>()

    const publishAndConfirm = Effect.fnUntraced(function* (changes: ReadonlyArray<ReadingChange>) {
      if (changes.length === 0) return
      const occurredAt = yield* DateTime.now
      yield* publisher.publish(changes.map((change) => makeReadingEvent(change, occurredAt))).pipe(
        Effect.tapError(() =>
          Metric.update(eventPublishFailures, 1).pipe(
            // Nobody is publishing them any more: the next sweep may take them at once, not when the claim ends.
            Effect.andThen(store.releaseUnpublished(changes.map((change) => change.reading)).pipe(Effect.ignore))
          )
        )
      )
      yield* Metric.update(eventsPublished, changes.length)
      yield* store.markPublished(changes.map((change) => change.reading))
    })

    /** Keeps each user's newest stored reading, for freshness (`/metrics` counts stale users, never by user). */
    const recordNewest = (userId: UserId, readings: ReadonlyArray<Reading>) => {
      let newest = newestByUser.get(userId) ?? Number.NEGATIVE_INFINITY
      for (const reading of readings) newest = Math.max(newest, DateTime.toEpochMillis(reading.timestamp) / 1000)
      if (Number.isFinite(newest)) newestByUser.set(userId, newest)
    }

    const ingest = Effect.fn("Ingest.ingest")(function* (
      userId: UserId,
      readings: ReadonlyArray<Reading>,
      options?: IngestOptions
    ) {
      const foreign = readings.find((reading) => reading.userId !== userId)
      if (foreign !== undefined) {
        return yield* Effect.die(new Error(`Ingest.ingest: a reading of ${foreign.userId} was given for ${userId}`))
      }
      yield* Effect.annotateCurrentSpan({ userId, readings: readings.length })
      // Within one batch the last reading for an instant wins, as it would across two batches. All are the user's
      // (checked above), so a reading's identity within the batch is its second (`readingKey` without the user).
      const distinct = new Map<number, Reading>()
      let unholdable = 0
      for (const reading of readings) {
        const millis = DateTime.toEpochMillis(reading.timestamp)
        if (isHoldableInstant(millis)) distinct.set(Math.floor(millis / 1000), reading)
        else unholdable += 1
      }
      if (unholdable > 0) {
        yield* countSetAside("reading", "ingest", unholdable)
        yield* Effect.logWarning("Readings with an instant outside 1970–9999 were set aside", {
          userId,
          count: unholdable
        })
      }
      const all = [...distinct.values()]
      const total = { inserted: 0, updated: 0, unchanged: 0 }
      // In pieces, each stored and published before the next, with other work let in between: one large upload
      // stored at once held the event loop for a second. A retry after a failed piece changes nothing stored.
      for (let start = 0; start === 0 || start < all.length; start += INGEST_PIECE) {
        if (start > 0) yield* Effect.yieldNow
        const piece = all.slice(start, start + INGEST_PIECE)
        const result = yield* store.putMany(piece)
        yield* countIngested("inserted", result.inserted)
        yield* countIngested("updated", result.updated)
        yield* countIngested("unchanged", result.unchanged)
        recordNewest(userId, piece)
        yield* publishAndConfirm(options?.publishOwed === true ? [...result.changes, ...result.owed] : result.changes)
        total.inserted += result.inserted
        total.updated += result.updated
        total.unchanged += result.unchanged
      }
      return {
        received: readings.length,
        inserted: total.inserted,
        updated: total.updated,
        unchanged: total.unchanged + (readings.length - unholdable - distinct.size)
      }
    })

    const republishUnconfirmed = Effect.fn("Ingest.republishUnconfirmed")(function* (
      limit: number,
      claim: Duration.Duration = DEFAULT_PUBLISH_CLAIM
    ) {
      const changes = yield* store.claimUnpublished({ limit, now: yield* DateTime.now, claim })
      yield* publishAndConfirm(changes)
      return changes.length
    })

    const newestReadings = Effect.sync(() => [...newestByUser.values()])

    return { ingest, republishUnconfirmed, newestReadings }
  })
}) {
  /** Needs a `ReadingStore` and an `EventPublisher`. */
  static readonly layer = Layer.effect(this, this.make)
}
