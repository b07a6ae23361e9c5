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
import { countBudgetDeferral, countProviderCall, outcomeOf } from "../observability/Metrics.ts"
import { type CgmProviderShape, DataChanges, type ProviderError, pulledAtOf } from "../ports/CgmProvider.ts"
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

/** No window starts before this: the connection's backfill horizon, and the provider's history limit. */
const horizonOf = (connection: Connection, provider: CgmProviderShape, now: DateTime.Utc): DateTime.Utc =>
  Option.match(provider.limits.maxHistory, {
    onNone: () => connection.backfillFrom,
    onSome: (maxHistory) => DateTime.max(connection.backfillFrom, DateTime.subtractDuration(now, maxHistory))
  })

/** From the cursor, reaching back by the provider's overlap before the newest stored reading (late records). */
const overlapStart = (connection: Connection, provider: CgmProviderShape): DateTime.Utc => {
  const { syncedThrough, lastReadingAt } = connection
  if (syncedThrough === null) return connection.backfillFrom
  return DateTime.subtractDuration(
    lastReadingAt === null ? syncedThrough : DateTime.min(lastReadingAt, syncedThrough),
    provider.limits.lateDataOverlap
  )
}

/** Sorted, with overlapping or touching windows joined, empty ones dropped. */
const joinWindows = (windows: ReadonlyArray<TimeWindow>): ReadonlyArray<TimeWindow> => {
  const sorted = windows
    .filter((w) => !isEmptyWindow(w))
    .sort((a, b) => DateTime.toEpochMillis(a.from) - DateTime.toEpochMillis(b.from))
  const joined: Array<TimeWindow> = []
  for (const window of sorted) {
    const last = joined.at(-1)
    if (last !== undefined && !DateTime.isGreaterThan(window.from, last.to)) {
      joined[joined.length - 1] = makeWindow(last.from, DateTime.max(last.to, window.to))
    } else {
      joined.push(window)
    }
  }
  return joined
}

/**
 * The windows of one sync, given what the provider told about the user's data, never before the backfill horizon
 * or the provider's history limit:
 * - the provider cannot tell: from the cursor, reaching back by the provider's overlap before the newest stored
 *   reading (late and backfilled records), up to now;
 * - the data's span: the same, but not before its first reading and up to just past its newest one; none when
 *   the newest reading is older than the cursor;
 * - what changed since the last pull: exactly the windows the provider named;
 * - no data: none.
 * Readings stamped after now (a sensor clock running ahead) are fetched when the provider names them: a provider
 * that tells what changed will not name them again. No window reaches more than a day past now, though: a clock
 * further ahead is broken, and a window to a far future would cost a call per `maxWindow`.
 */
export const syncWindows = (
  connection: Connection,
  provider: CgmProviderShape,
  changes: DataChanges,
  now: DateTime.Utc
): ReadonlyArray<TimeWindow> => {
  const horizon = horizonOf(connection, provider, now)
  const reach = DateTime.add(now, { days: 1 })
  const from = DateTime.max(overlapStart(connection, provider), horizon)
  return DataChanges.$match(changes, {
    CannotTell: () => joinWindows([makeWindow(from, now)]),
    NoData: () => [],
    Span: ({ earliest, latest }) =>
      connection.syncedThrough !== null && DateTime.isLessThan(latest, connection.syncedThrough)
        ? []
        : joinWindows([
            makeWindow(
              DateTime.max(from, earliest),
              DateTime.min(reach, DateTime.addDuration(latest, Duration.seconds(1)))
            )
          ]),
    ChangedSince: ({ windows }) =>
      joinWindows(
        windows.map((window) => makeWindow(DateTime.max(window.from, horizon), DateTime.min(window.to, reach)))
      )
  })
}

/**
 * Brings one connection up to date: fetches its window from the provider in pieces no longer than the
 * provider's maximum, ingests each piece, and advances the cursor only after that piece's events are
 * confirmed, so a crash re-does work and never loses an event. Records the outcome on the connection
 * (status, last error, next poll) for the status page and the scheduler. A sync stopped by the call budget all
 * replicas share (`RateLimited` with `budgetSpent`) is deferred, not failed: only its next poll moves, to when
 * the budget has room, and the deferral is counted (`bg_ingest_budget_deferrals_total`).
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
      if (error._tag === "RateLimited" && error.budgetSpent === true) {
        // Not a failure: the budget all replicas share is spent. The connection keeps its status and its count of
        // failures, and is due again when the budget has room.
        return { nextPollAt: DateTime.addDuration(now, error.retryAfter), updatedAt: now }
      }
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
      const changes = yield* provider.changes(userId, Option.fromNullOr(connection.changesSince))
      const pieces = syncWindows(connection, provider, changes, startedAt).flatMap((window) =>
        splitWindow(window, provider.limits.maxWindow)
      )
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
      if (pieces.length > 0) {
        for (const [index, piece] of pieces.entries()) {
          const fetched = yield* provider.fetchReadings(userId, piece).pipe(
            Effect.tap(() => countProviderCall(provider.id, "ok")),
            Effect.tapError((error) => countProviderCall(provider.id, outcomeOf(error)))
          )
          // Alone on this connection (the lock), so it also settles events owed from an earlier attempt: the cursor
          // passes a reading only once its event is confirmed.
          const result = yield* ingest.ingest(userId, fetched.readings, { publishOwed: true })
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
      } else if (changes._tag === "NoData" || changes._tag === "CannotTell") {
        // Nothing to fetch up to now (the user has no data at all, or the cursor is already now): the cursor may
        // move to now.
        syncedThrough = laterOf(syncedThrough, startedAt)
      }
      const finishedAt = yield* DateTime.now
      const nextPollAt = yield* nextRegularPoll(provider, finishedAt)
      yield* connections.update(userId, provider.id, {
        status: "active",
        syncedThrough,
        lastReadingAt,
        lastSyncAt: finishedAt,
        // What was fetched is stored and its events confirmed: the next sync asks what changed since this pull.
        ...Option.match(pulledAtOf(changes), {
          onNone: () => ({}),
          onSome: (pulledAt) => ({ changesSince: pulledAt })
        }),
        lastError: null,
        consecutiveFailures: 0,
        nextPollAt,
        updatedAt: finishedAt
      })
      return {
        userId,
        provider: provider.id,
        fetched: pieces.length > 0,
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
                if (error._tag === "RateLimited" && error.budgetSpent === true) {
                  yield* countBudgetDeferral(provider.id)
                }
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
