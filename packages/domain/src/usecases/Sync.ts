import { Context, DateTime, Duration, Effect, Layer, Option, Random, Schema } from "effect"
import { makeKeyedLock } from "../concurrency/KeyedLock.ts"
import {
  type Connection,
  type ConnectionNotFound,
  type ConnectionPatch,
  connectionNotFound,
  pollableStatuses
} from "../model/Connection.ts"
import type { ProviderId, UserId } from "../model/Identifiers.ts"
import { isEmptyWindow, makeWindow, splitWindow, type TimeWindow } from "../model/TimeWindow.ts"
import { countProviderCall, outcomeOf } from "../observability/Metrics.ts"
import type { CgmProviderShape, ProviderError } from "../ports/CgmProvider.ts"
import { CgmProviders, type UnknownProvider } from "../ports/CgmProviders.ts"
import { ConnectionStore, type ConnectionStoreError } from "../ports/ConnectionStore.ts"
import type { EventPublishError } from "../ports/EventPublisher.ts"
import type { ReadingStoreError } from "../ports/ReadingStore.ts"
import { failureBackoff, jitteredInterval } from "../scheduling/PollDelays.ts"
import { SyncSettings } from "../settings/UseCaseSettings.ts"
import { Ingest } from "./Ingest.ts"

/** The connection exists but waits for a person (re-authorization, reconnection) before it can sync. */
export class ConnectionNotPollable extends Schema.TaggedError<ConnectionNotPollable>()("ConnectionNotPollable", {
  userId: Schema.String,
  provider: Schema.String,
  status: Schema.String,
  message: Schema.String
}) {}

export type SyncError =
  | ConnectionNotFound
  | ConnectionNotPollable
  | UnknownProvider
  | ProviderError
  | ReadingStoreError
  | EventPublishError
  | ConnectionStoreError

export interface SyncResult {
  readonly userId: UserId
  readonly provider: ProviderId
  /** False when the provider said nothing new had arrived, so nothing was fetched. */
  readonly fetched: boolean
  readonly windows: number
  readonly received: number
  readonly skippedWithoutValue: number
  /** Records the provider sent with a value outside the glucose range: counted and logged, not stored. */
  readonly rejected: number
  readonly inserted: number
  readonly updated: number
  readonly unchanged: number
  readonly syncedThrough: DateTime.Utc
  readonly lastReadingAt: DateTime.Utc | null
  readonly nextPollAt: DateTime.Utc
}

const laterOf = (a: DateTime.Utc | null, b: DateTime.Utc | null): DateTime.Utc | null =>
  a === null ? b : b === null ? a : DateTime.max(a, b)

/**
 * The window of one sync: from the cursor, reaching back by the provider's overlap before the newest stored
 * reading (late and backfilled records), never before the backfill horizon, the provider's history limit or
 * the user's first reading; up to now, or just past the provider's newest reading when it says where that is.
 * None when the provider's newest reading is older than the cursor: nothing new to fetch.
 */
export const syncWindow = (
  connection: Connection,
  provider: CgmProviderShape,
  available: Option.Option<{ readonly earliest: DateTime.Utc; readonly latest: DateTime.Utc }>,
  now: DateTime.Utc
): Option.Option<TimeWindow> => {
  const { syncedThrough, lastReadingAt } = connection
  let from =
    syncedThrough === null
      ? connection.backfillFrom
      : DateTime.subtractDuration(
          lastReadingAt === null ? syncedThrough : DateTime.min(lastReadingAt, syncedThrough),
          provider.limits.lateDataOverlap
        )
  from = DateTime.max(from, connection.backfillFrom)
  if (Option.isSome(provider.limits.maxHistory)) {
    from = DateTime.max(from, DateTime.subtractDuration(now, provider.limits.maxHistory.value))
  }
  let to = now
  if (Option.isSome(available)) {
    const { earliest, latest } = available.value
    if (syncedThrough !== null && DateTime.isLessThan(latest, syncedThrough)) return Option.none()
    from = DateTime.max(from, earliest)
    to = DateTime.min(now, DateTime.addDuration(latest, Duration.seconds(1)))
  }
  const window = makeWindow(from, to)
  return isEmptyWindow(window) ? Option.none() : Option.some(window)
}

/**
 * Brings one connection up to date: fetches its window from the provider in pieces no longer than the
 * provider's maximum, ingests each piece, and advances the cursor only after that piece's events are
 * confirmed, so a crash re-does work and never loses an event. Records the outcome on the connection
 * (status, last error, next poll) for the status page and the scheduler.
 */
export class Sync extends Context.Service<
  Sync,
  {
    readonly sync: (userId: UserId, provider: string) => Effect.Effect<SyncResult, SyncError>
  }
>()("@bg-ingest/domain/Sync", {
  make: Effect.gen(function* () {
    const connections = yield* ConnectionStore
    const providers = yield* CgmProviders
    const ingest = yield* Ingest
    const withConnectionLock = makeKeyedLock()

    const nextRegularPoll = Effect.fnUntraced(function* (provider: CgmProviderShape, now: DateTime.Utc) {
      const settings = yield* SyncSettings
      const interval = Duration.max(settings.pollInterval, provider.limits.minPollInterval)
      return DateTime.addDuration(now, jitteredInterval(interval, settings.pollJitterRatio, yield* Random.next))
    })

    const failurePatch = Effect.fnUntraced(function* (
      connection: Connection,
      error: SyncError,
      now: DateTime.Utc
    ): Effect.fn.Return<ConnectionPatch> {
      const settings = yield* SyncSettings
      const consecutiveFailures = connection.consecutiveFailures + 1
      const common = { lastError: error.message, consecutiveFailures, updatedAt: now }
      switch (error._tag) {
        case "NeedsReauthorization":
          return { ...common, status: "needs_reauthorization", nextPollAt: null }
        case "RateLimited":
          return { ...common, status: "rate_limited", nextPollAt: DateTime.addDuration(now, error.retryAfter) }
        default: {
          const delay = failureBackoff(
            consecutiveFailures,
            settings.failureBackoffBase,
            settings.failureBackoffMax,
            yield* Random.next
          )
          return { ...common, status: "error", nextPollAt: DateTime.addDuration(now, delay) }
        }
      }
    })

    const run = Effect.fnUntraced(function* (connection: Connection, provider: CgmProviderShape) {
      const { userId } = connection
      const startedAt = yield* DateTime.now
      const available = yield* provider.availableRange(userId)
      const window = syncWindow(connection, provider, available, startedAt)
      let syncedThrough = connection.syncedThrough
      let lastReadingAt = connection.lastReadingAt
      const totals = {
        windows: 0,
        received: 0,
        skippedWithoutValue: 0,
        rejected: 0,
        inserted: 0,
        updated: 0,
        unchanged: 0
      }
      if (Option.isSome(window)) {
        const pieces = splitWindow(window.value, provider.limits.maxWindow)
        for (const [index, piece] of pieces.entries()) {
          const fetched = yield* provider.fetchReadings(userId, piece).pipe(
            Effect.tap(() => countProviderCall(provider.id, "ok")),
            Effect.tapError((error) => countProviderCall(provider.id, outcomeOf(error)))
          )
          const result = yield* ingest.ingest(userId, fetched.readings)
          for (const reading of fetched.readings) lastReadingAt = laterOf(lastReadingAt, reading.timestamp)
          syncedThrough = laterOf(syncedThrough, piece.to)
          totals.windows += 1
          totals.received += result.received
          totals.skippedWithoutValue += fetched.skippedWithoutValue
          totals.rejected += fetched.rejected ?? 0
          totals.inserted += result.inserted
          totals.updated += result.updated
          totals.unchanged += result.unchanged
          // The events of this piece are confirmed: the cursor may pass it. Persisting per piece makes a long
          // backfill resumable after a restart.
          yield* connections.update(userId, provider.id, {
            syncedThrough,
            lastReadingAt,
            updatedAt: yield* DateTime.now
          })
          // A backfill's windows are progress worth seeing; a routine one-window poll is not.
          const log = pieces.length > 1 ? Effect.logInfo : Effect.logDebug
          yield* log("Synced window").pipe(
            Effect.annotateLogs({
              userId,
              provider: provider.id,
              window: `${index + 1}/${pieces.length}`,
              from: DateTime.formatIso(piece.from),
              to: DateTime.formatIso(piece.to),
              received: result.received,
              skippedWithoutValue: fetched.skippedWithoutValue,
              rejected: fetched.rejected ?? 0,
              inserted: result.inserted,
              updated: result.updated
            })
          )
        }
      } else if (Option.isNone(available)) {
        // The user has no data at all yet: nothing to fetch, but the cursor may move to now.
        syncedThrough = laterOf(syncedThrough, startedAt)
      }
      const finishedAt = yield* DateTime.now
      const nextPollAt = yield* nextRegularPoll(provider, finishedAt)
      yield* connections.update(userId, provider.id, {
        status: "active",
        syncedThrough,
        lastReadingAt,
        lastSyncAt: finishedAt,
        lastError: null,
        consecutiveFailures: 0,
        nextPollAt,
        updatedAt: finishedAt
      })
      return {
        userId,
        provider: provider.id,
        fetched: Option.isSome(window),
        ...totals,
        syncedThrough: syncedThrough ?? startedAt,
        lastReadingAt,
        nextPollAt
      } satisfies SyncResult
    })

    const sync = Effect.fn("Sync.sync")(function* (userId: UserId, providerId: string) {
      yield* Effect.annotateCurrentSpan({ userId, provider: providerId })
      const provider = yield* providers.get(providerId)
      return yield* withConnectionLock(
        `${userId}\u0000${provider.id}`,
        Effect.gen(function* () {
          const found = yield* connections.get(userId, provider.id)
          if (Option.isNone(found)) {
            return yield* connectionNotFound(userId, provider.id)
          }
          const connection = found.value
          if (!pollableStatuses.includes(connection.status)) {
            return yield* new ConnectionNotPollable({
              userId,
              provider: provider.id,
              status: connection.status,
              message: `The ${provider.id} connection of ${userId} is ${connection.status.replaceAll("_", " ")}`
            })
          }
          return yield* run(connection, provider).pipe(
            Effect.tapError((error) =>
              Effect.gen(function* () {
                const patch = yield* failurePatch(connection, error, yield* DateTime.now)
                yield* connections.update(userId, provider.id, patch).pipe(Effect.ignore)
              })
            )
          )
        })
      )
    })

    return { sync }
  })
}) {
  /** Needs a `ConnectionStore`, `CgmProviders` and `Ingest`. */
  static readonly layer = Layer.effect(this, this.make)
}
