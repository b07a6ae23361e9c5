import { Context, DateTime, Effect, Layer, Metric } from "effect"
import type { UserId } from "../model/Identifiers.ts"
import { type Reading, readingKey } from "../model/Reading.ts"
import { makeReadingEvent, type ReadingChange } from "../model/ReadingEvent.ts"
import {
  countIngested,
  eventPublishFailures,
  eventsPublished,
  newestReadingTimestamp
} from "../observability/Metrics.ts"
import { type EventPublishError, EventPublisher } from "../ports/EventPublisher.ts"
import { ReadingStore, type ReadingStoreError } from "../ports/ReadingStore.ts"

export interface IngestResult {
  readonly received: number
  readonly inserted: number
  readonly updated: number
  readonly unchanged: number
}

/**
 * Stores readings idempotently and publishes one event per inserted or updated reading. It succeeds only when
 * the readings are stored and their events confirmed; after a failure the caller retries and, because the store
 * remembers which events were never confirmed, the retry publishes them again. Shared by polling and the webhook.
 */
export class Ingest extends Context.Service<
  Ingest,
  {
    readonly ingest: (
      userId: UserId,
      readings: ReadonlyArray<Reading>
    ) => Effect.Effect<IngestResult, ReadingStoreError | EventPublishError>
    /** Publishes events that an earlier attempt stored but never got confirmed; answers how many. */
    readonly republishUnconfirmed: (limit: number) => Effect.Effect<number, ReadingStoreError | EventPublishError>
  }
>()("@bg-ingest/domain/Ingest", {
  make: Effect.gen(function* () {
    const store = yield* ReadingStore
    const publisher = yield* EventPublisher

    const newestByUser = new Map<UserId, number>()

    const publishAndConfirm = Effect.fnUntraced(function* (changes: ReadonlyArray<ReadingChange>) {
      if (changes.length === 0) return
      const occurredAt = yield* DateTime.now
      yield* publisher
        .publish(changes.map((change) => makeReadingEvent(change, occurredAt)))
        .pipe(Effect.tapError(() => Metric.update(eventPublishFailures, 1)))
      yield* Metric.update(eventsPublished, changes.length)
      yield* store.markPublished(changes.map((change) => change.reading))
    })

    /** Keeps the gauge of each user's newest stored reading, for freshness alerts. */
    const recordNewest = (userId: UserId, readings: ReadonlyArray<Reading>) => {
      let newest = newestByUser.get(userId) ?? Number.NEGATIVE_INFINITY
      for (const reading of readings) newest = Math.max(newest, DateTime.toEpochMillis(reading.timestamp) / 1000)
      if (!Number.isFinite(newest) || newest === newestByUser.get(userId)) return Effect.void
      newestByUser.set(userId, newest)
      return Metric.update(Metric.withAttributes(newestReadingTimestamp, { user_id: userId }), newest)
    }

    const ingest = Effect.fn("Ingest.ingest")(function* (userId: UserId, readings: ReadonlyArray<Reading>) {
      const foreign = readings.find((reading) => reading.userId !== userId)
      if (foreign !== undefined) {
        return yield* Effect.die(new Error(`Ingest.ingest: a reading of ${foreign.userId} was given for ${userId}`))
      }
      yield* Effect.annotateCurrentSpan({ userId, readings: readings.length })
      // Within one batch the last reading for an instant wins, as it would across two batches.
      const distinct = new Map<string, Reading>()
      for (const reading of readings) distinct.set(readingKey(reading), reading)
      const result = yield* store.putMany([...distinct.values()])
      yield* countIngested("inserted", result.inserted)
      yield* countIngested("updated", result.updated)
      yield* countIngested("unchanged", result.unchanged)
      yield* recordNewest(userId, readings)
      yield* publishAndConfirm(result.unpublished)
      return {
        received: readings.length,
        inserted: result.inserted,
        updated: result.updated,
        unchanged: result.unchanged + (readings.length - distinct.size)
      }
    })

    const republishUnconfirmed = Effect.fn("Ingest.republishUnconfirmed")(function* (limit: number) {
      const changes = yield* store.unpublished(limit)
      yield* publishAndConfirm(changes)
      return changes.length
    })

    return { ingest, republishUnconfirmed }
  })
}) {
  /** Needs a `ReadingStore` and an `EventPublisher`. */
  static readonly layer = Layer.effect(this, this.make)
}
