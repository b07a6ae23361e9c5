import { SIMULATOR_PROVIDER_ID } from "@bg-ingest/adapters/simulator"
import { ConnectionStore, newConnection, Sync, type UserId } from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"

/**
 * Development's demo users: each gets a simulator connection holding the last 24 hours, synced before the
 * server starts answering, and then polled like any other connection. Existing connections are caught up.
 */
export const DemoUsers = (users: ReadonlyArray<UserId>) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      if (users.length === 0) return
      const connections = yield* ConnectionStore
      const sync = yield* Sync
      const now = yield* DateTime.now
      for (const userId of users) {
        const existing = yield* connections.get(userId, SIMULATOR_PROVIDER_ID)
        if (Option.isNone(existing)) {
          yield* connections.upsert(
            newConnection({
              userId,
              provider: SIMULATOR_PROVIDER_ID,
              backfillFrom: DateTime.subtract(now, { hours: 24 }),
              credentials: null,
              now
            })
          )
        }
        const result = yield* sync.sync(userId, SIMULATOR_PROVIDER_ID)
        yield* Effect.logInfo(`Demo user ${userId}: ${result.inserted} new readings (simulator)`)
      }
    }).pipe(Effect.withSpan("DemoUsers.seed"))
  )
