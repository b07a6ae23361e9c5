import { Cause, Context, DateTime, Deferred, Duration, Effect, Fiber, Layer } from "effect"
import { SecureRandom } from "effect/crypto"
import type { Connection } from "../model/Connection.ts"
import { CgmProviders } from "../ports/CgmProviders.ts"
import { ConnectionStore, type HeldLease } from "../ports/ConnectionStore.ts"
import { SchedulerSettings, SyncSettings } from "../settings/UseCaseSettings.ts"
import { Ingest } from "./Ingest.ts"
import { Sync } from "./Sync.ts"

type Outcome = "succeeded" | "failed" | "deferred"

export interface CycleReport {
  readonly claimed: number
  readonly succeeded: number
  readonly failed: number
  readonly republished: number
  /** Syncs deferred because the call budget all replicas share was spent: neither succeeded nor failed. */
  readonly deferred: number
}

/**
 * Polls every due connection: claims due connections in batches (a lease, so replicas share the work), syncs
 * them with bounded concurrency and a timeout each, so that one slow or failing user never stalls the others.
 * The leases of a batch are renewed every third of a lease until each connection's sync has ended (a long
 * backfill, or a wait for a free slot, never lets another replica take a connection in use), and a stopping
 * scheduler gives back the leases of connections it has not started, so another replica takes them at once. A
 * replica that finds a lease gone (it stalled past the lease's end and another replica took the connection)
 * abandons that sync, so two replicas never call the provider for one connection at once.
 * Per-connection backoff, `RateLimited.retryAfter` and the stop on re-authorization live in `Sync`, which
 * records each outcome as the connection's next poll. Each cycle also re-publishes events that an earlier
 * attempt stored but never got confirmed.
 */
export class Scheduler extends Context.Service<
  Scheduler,
  {
    readonly runCycle: Effect.Effect<CycleReport>
    /** Runs cycles forever, one every `SchedulerSettings.tick`. */
    readonly run: Effect.Effect<never>
    /**
     * Runs cycles until `stop` completes: then claims nothing more, lets the syncs in flight finish, and returns.
     * The orderly way to shut down: interrupting `run` abandons in-flight syncs (safe, but work is redone).
     */
    readonly runUntil: (stop: Deferred.Deferred<void>) => Effect.Effect<void>
  }
>()("@bg-ingest/domain/Scheduler", {
  make: Effect.gen(function* () {
    const connections = yield* ConnectionStore
    const providers = yield* CgmProviders
    const ingest = yield* Ingest
    const sync = yield* Sync
    /** This scheduler's name on the leases it holds: unique per process. */
    const holder = yield* Effect.sync(() => SecureRandom.uuidV4Unsafe())
    /** The leases held on connections claimed and not yet done with, by connection. */
    const held = new Map<string, HeldLease>()
    /** Completed when a renewal finds the connection's lease gone (another replica took it), by connection. */
    const lost = new Map<string, Deferred.Deferred<void>>()
    const keyOf = (connection: Connection) => `${connection.userId}\u0000${connection.provider}`

    /** Every lease still held, moved to a lease from now; a lease found lost (a sync recorded its outcome) is dropped. */
    const renewHeld = Effect.fnUntraced(function* () {
      const { lease } = yield* SchedulerSettings
      const now = yield* DateTime.now
      const until = DateTime.addDuration(now, lease)
      yield* Effect.forEach(
        [...held.entries()],
        ([key, current]) =>
          connections.renewLease(current, until).pipe(
            Effect.tap((renewed) => {
              if (held.get(key) !== current) return Effect.void
              if (renewed) {
                held.set(key, { ...current, until })
                return Effect.void
              }
              held.delete(key)
              const signal = lost.get(key)
              return signal === undefined ? Effect.void : Deferred.succeed(signal, undefined)
            }),
            Effect.catch((error) =>
              Effect.logWarning("Could not renew a lease").pipe(
                Effect.annotateLogs({ userId: current.userId, provider: current.provider, reason: error.message })
              )
            )
          ),
        { concurrency: 16, discard: true }
      )
    })

    /** Renews the held leases every third of a lease, for as long as it runs. */
    const keepLeases = Effect.gen(function* () {
      const { lease } = yield* SchedulerSettings
      while (true) {
        yield* Effect.sleep(Duration.millis(Math.max(1, Math.floor(Duration.toMillis(lease) / 3))))
        yield* renewHeld().pipe(
          Effect.catchDefect((defect) => Effect.logError("Renewing leases failed unexpectedly", defect))
        )
      }
    })

    /** Gives a lease back, due now, so that another replica may take the connection at once. */
    const release = Effect.fnUntraced(function* (connection: Connection) {
      const key = keyOf(connection)
      const current = held.get(key)
      held.delete(key)
      if (current === undefined) return
      yield* connections
        .releaseLease(current, yield* DateTime.now)
        .pipe(
          Effect.catch((error) =>
            Effect.logWarning("Could not release a lease: the connection waits for its end").pipe(
              Effect.annotateLogs({ userId: connection.userId, provider: connection.provider, reason: error.message })
            )
          )
        )
    })

    /** A sync that ended without recording its own outcome (a timeout, a defect): backed off as a failure. */
    const recordFailure = Effect.fnUntraced(function* (connection: Connection, lastError: string) {
      const now = yield* DateTime.now
      const { failureBackoffBase } = yield* SyncSettings
      yield* connections
        .update(connection.userId, connection.provider, {
          status: "error",
          lastError,
          consecutiveFailures: connection.consecutiveFailures + 1,
          nextPollAt: DateTime.addDuration(now, failureBackoffBase),
          updatedAt: now
        })
        .pipe(Effect.ignore)
    })

    const syncOne = Effect.fnUntraced(function* (connection: Connection) {
      const { syncTimeout } = yield* SchedulerSettings
      return yield* sync.sync(connection.userId, connection.provider).pipe(
        Effect.timeout(syncTimeout),
        Effect.as<Outcome>("succeeded"),
        Effect.catchIf(
          (error) => error._tag === "RateLimited" && error.budgetSpent === true,
          (error) =>
            Effect.logDebug("Sync deferred: the shared call budget is spent").pipe(
              Effect.annotateLogs({ userId: connection.userId, provider: connection.provider, reason: error.message }),
              Effect.as<Outcome>("deferred")
            )
        ),
        Effect.catchTag("TimeoutError", () =>
          recordFailure(connection, `Sync did not finish within ${Duration.format(syncTimeout)}`).pipe(
            Effect.as<Outcome>("failed")
          )
        ),
        Effect.catch((error) =>
          Effect.logWarning("Sync failed").pipe(
            Effect.annotateLogs({
              userId: connection.userId,
              provider: connection.provider,
              error: error._tag,
              reason: error.message
            }),
            Effect.as<Outcome>("failed")
          )
        ),
        // One connection's bug (a provider that throws, data it cannot handle) never stops the others' syncs.
        Effect.catchDefect((defect) =>
          Effect.logError("Sync failed unexpectedly", defect).pipe(
            Effect.annotateLogs({ userId: connection.userId, provider: connection.provider }),
            Effect.andThen(recordFailure(connection, "Sync failed unexpectedly (see the service's log)")),
            Effect.as<Outcome>("failed")
          )
        )
      )
    })

    const republish = Effect.fnUntraced(function* () {
      const { republishBatch, publishClaim } = yield* SchedulerSettings
      return yield* ingest.republishUnconfirmed(republishBatch, publishClaim).pipe(
        Effect.tap((count) => (count > 0 ? Effect.logInfo("Re-published unconfirmed events", { count }) : Effect.void)),
        Effect.catch((error) =>
          Effect.logWarning("Could not re-publish unconfirmed events", { reason: error.message }).pipe(Effect.as(0))
        ),
        // Nor does the sweep, which runs before any connection is claimed.
        Effect.catchDefect((defect) =>
          Effect.logError("Re-publishing unconfirmed events failed unexpectedly", defect).pipe(Effect.as(0))
        )
      )
    })

    const cycle = Effect.fnUntraced(function* (keepClaiming: Effect.Effect<boolean>) {
      const settings = yield* SchedulerSettings
      const republished = yield* republish()
      let claimed = 0
      let succeeded = 0
      let deferred = 0
      while (true) {
        const now = yield* DateTime.now
        const leaseUntil = DateTime.addDuration(now, settings.lease)
        const due = yield* connections
          .claimDue({
            now,
            leaseUntil,
            providers: providers.ids,
            limit: settings.claimBatch,
            holder
          })
          .pipe(
            Effect.catch((error) =>
              Effect.logWarning("Could not claim due connections", { reason: error.message }).pipe(Effect.as([]))
            ),
            Effect.catchDefect((defect) =>
              Effect.logError("Claiming due connections failed unexpectedly", defect).pipe(Effect.as([]))
            )
          )
        for (const connection of due) {
          held.set(keyOf(connection), {
            userId: connection.userId,
            provider: connection.provider,
            holder,
            until: leaseUntil
          })
        }
        let released = 0
        let lostLeases = 0
        const renewer = yield* Effect.forkChild(keepLeases)
        const outcomes = yield* Effect.forEach(
          due,
          (connection) =>
            Effect.gen(function* () {
              // Stopping: a connection not started yet goes back to the others now, not at its lease's end.
              if (!(yield* keepClaiming)) {
                released += 1
                yield* release(connection)
                return "released" as const
              }
              const key = keyOf(connection)
              if (!held.has(key)) {
                // Its lease ended while it waited for a slot, and another replica has it now.
                lostLeases += 1
                return "lost" as const
              }
              const signal = yield* Deferred.make<void>()
              lost.set(key, signal)
              return yield* syncOne(connection).pipe(
                // The lease went to another replica (this one stalled past it): stop calling the provider for it.
                Effect.raceFirst(
                  Deferred.await(signal).pipe(
                    Effect.andThen(
                      Effect.logWarning("Lease lost to another replica: its sync here was abandoned").pipe(
                        Effect.annotateLogs({ userId: connection.userId, provider: connection.provider })
                      )
                    ),
                    Effect.andThen(Effect.sync(() => (lostLeases += 1))),
                    Effect.as("lost" as const)
                  )
                ),
                // Cut short by a shutdown past its grace: the connection is given back too.
                Effect.onInterrupt(() => release(connection)),
                Effect.ensuring(
                  Effect.sync(() => {
                    held.delete(key)
                    lost.delete(key)
                  })
                )
              )
            }),
          { concurrency: settings.concurrency }
        ).pipe(Effect.ensuring(Fiber.interrupt(renewer)))
        if (released > 0)
          yield* Effect.logInfo("Stopping: gave back the leases of connections not started", { released })
        claimed += due.length - released - lostLeases
        succeeded += outcomes.filter((outcome) => outcome === "succeeded").length
        deferred += outcomes.filter((outcome) => outcome === "deferred").length
        if (due.length < settings.claimBatch || !(yield* keepClaiming)) break
      }
      return { claimed, succeeded, failed: claimed - succeeded - deferred, republished, deferred }
    })

    const runCycle = cycle(Effect.succeed(true)).pipe(Effect.withSpan("Scheduler.runCycle"))

    const logFailure = Effect.catchCause((cause: Cause.Cause<never>) =>
      Effect.logError("Scheduler cycle failed", Cause.pretty(cause))
    )

    const run = Effect.gen(function* () {
      const { tick } = yield* SchedulerSettings
      yield* runCycle.pipe(logFailure)
      yield* Effect.sleep(tick)
    }).pipe(Effect.forever)

    const runUntil = Effect.fn("Scheduler.runUntil")(function* (stop: Deferred.Deferred<void>) {
      const { tick } = yield* SchedulerSettings
      const running = Effect.map(Deferred.isDone(stop), (done) => !done)
      while (yield* running) {
        yield* cycle(running).pipe(Effect.withSpan("Scheduler.runCycle"), logFailure)
        yield* Effect.raceFirst(Effect.sleep(tick), Deferred.await(stop))
      }
    })

    return { runCycle, run, runUntil }
  })
}) {
  /** Needs a `ConnectionStore`, `CgmProviders`, `Ingest` and `Sync`. */
  static readonly layer = Layer.effect(this, this.make)
}
