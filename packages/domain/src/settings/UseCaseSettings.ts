import { Context, Duration } from "effect"

export interface SyncSettingsShape {
  /** How often each connection is polled (`POLL_INTERVAL_SECONDS`), raised to the provider's minimum. */
  readonly pollInterval: Duration.Duration
  /** Each next poll lands up to this fraction of the interval later, so connections spread out over time. */
  readonly pollJitterRatio: number
  /** The first retry delay after a failure; doubles per consecutive failure, up to `failureBackoffMax`. */
  readonly failureBackoffBase: Duration.Duration
  readonly failureBackoffMax: Duration.Duration
}

export const SyncSettings = Context.Reference<SyncSettingsShape>("@bg-ingest/domain/SyncSettings", {
  defaultValue: () => ({
    pollInterval: Duration.seconds(900),
    pollJitterRatio: 0.1,
    failureBackoffBase: Duration.seconds(30),
    failureBackoffMax: Duration.hours(1)
  })
})

export interface SchedulerSettingsShape {
  /** How often the scheduler looks for due connections. */
  readonly tick: Duration.Duration
  /** How many syncs run at once. */
  readonly concurrency: number
  /** How many due connections one claim takes. */
  readonly claimBatch: number
  /** A sync that takes longer is abandoned and recorded as failed. */
  readonly syncTimeout: Duration.Duration
  /** How long a claimed connection stays invisible to other replicas; longer than `syncTimeout`. */
  readonly lease: Duration.Duration
  /** How many unconfirmed events one sweep re-publishes. */
  readonly republishBatch: number
  /**
   * How long a publication keeps its owed events from other replicas' sweeps (`ReadingStore.claimUnpublished`):
   * longer than the broker's confirm timeout. Absent: one minute.
   */
  readonly publishClaim?: Duration.Duration
}

export const SchedulerSettings = Context.Reference<SchedulerSettingsShape>("@bg-ingest/domain/SchedulerSettings", {
  defaultValue: () => ({
    tick: Duration.seconds(5),
    concurrency: 8,
    claimBatch: 500,
    syncTimeout: Duration.minutes(10),
    lease: Duration.minutes(15),
    republishBatch: 5000
  })
})

export interface ConnectSettingsShape {
  /** How far back the first sync of a new connection reaches (`BACKFILL_DAYS`). */
  readonly backfill: Duration.Duration
  /** How long a user has to finish the provider's consent page. */
  readonly authorizationTtl: Duration.Duration
}

export const ConnectSettings = Context.Reference<ConnectSettingsShape>("@bg-ingest/domain/ConnectSettings", {
  defaultValue: () => ({
    backfill: Duration.days(90),
    authorizationTtl: Duration.minutes(10)
  })
})
