import { ConnectionStatus, GlucoseStatus, Trend } from "@bg-ingest/domain"
import { Schema } from "effect"

/** `2025-04-26T14:30:00Z`: every time the API answers is RFC 3339 UTC with `Z` and no fractional seconds. */
export const UtcSeconds = Schema.String.annotate({
  description: "RFC 3339 UTC time with Z and no fractional seconds",
  format: "date-time",
  examples: ["2025-04-26T14:30:00Z"]
})

/**
 * One reading as the API shows it: `timestamp` and `glucose_mg_dl` first (what the first clients read), then what
 * else we know.
 */
export const ReadingJson = Schema.Struct({
  timestamp: UtcSeconds,
  glucose_mg_dl: Schema.Int,
  trend: Trend,
  trend_rate: Schema.NullOr(Schema.Number).annotate({ description: "mg/dL per minute, when the provider gives it" }),
  status: GlucoseStatus.annotate({ description: "high/low: the sensor's limit was reached and the value clamped" }),
  source: Schema.String.annotate({ description: "The provider the reading came from" })
}).annotate({ identifier: "Reading" })
export type ReadingJson = typeof ReadingJson.Type

export const ConnectionJson = Schema.Struct({
  provider: Schema.String,
  status: ConnectionStatus,
  last_sync_at: Schema.NullOr(UtcSeconds),
  last_reading_at: Schema.NullOr(UtcSeconds),
  last_error: Schema.NullOr(Schema.String),
  next_poll_at: Schema.NullOr(UtcSeconds).annotate({ description: "null when the connection is not polled" }),
  synced_through: Schema.NullOr(UtcSeconds).annotate({
    description: "Every reading before this time is stored and its event confirmed"
  }),
  backfill_from: UtcSeconds,
  backfill_complete: Schema.Boolean.annotate({
    description: "true once the first sync since connecting has fetched everything from backfill_from"
  }),
  backfill_progress: Schema.Number.annotate({
    description: "The share of the backfill synced so far, from 0 to 1"
  }),
  consecutive_failures: Schema.Int,
  created_at: UtcSeconds
}).annotate({ identifier: "Connection" })

/**
 * A user's login at a provider without OAuth (Dexcom Share, LibreLinkUp). The password never appears in any answer
 * or log.
 */
export const CredentialsJson = Schema.Struct({
  username: Schema.String.check(
    Schema.isPattern(/\S/, { expected: "a username" }),
    Schema.isMaxLength(256, { expected: "a username of at most 256 characters" })
  ).annotate({ description: "The provider account's username (for Dexcom Share: the Dexcom account's)" }),
  password: Schema.RedactedFromValue(
    Schema.String.check(
      Schema.isMinLength(1, { expected: "a password" }),
      Schema.isMaxLength(256, { expected: "a password of at most 256 characters" })
    ).annotate({ description: "Stored encrypted; never shown by any endpoint", format: "password" })
  ),
  patient_id: Schema.optional(
    Schema.String.check(
      Schema.isPattern(/^[A-Za-z0-9-]{1,64}$/, { expected: "a patient id (letters, digits and dashes, at most 64)" })
    ).annotate({
      description:
        "libre-link-up: which of the patients the follower account follows to read (required when it follows " +
        "several; the patient-choice-required problem lists them). Ignored by providers without patients."
    })
  )
}).annotate({ identifier: "Credentials" })
export type CredentialsJson = typeof CredentialsJson.Type

/** The answer to a completed authorization. */
export const ConnectedJson = Schema.Struct({
  provider: Schema.String,
  user_id: Schema.String,
  status: ConnectionStatus,
  backfill_from: UtcSeconds,
  next_poll_at: Schema.NullOr(UtcSeconds),
  message: Schema.String
}).annotate({ identifier: "Connected" })
export type ConnectedJson = typeof ConnectedJson.Type
export type ConnectionJson = typeof ConnectionJson.Type

export const SyncResultJson = Schema.Struct({
  provider: Schema.String,
  fetched: Schema.Boolean.annotate({ description: "false when the provider had nothing new" }),
  windows: Schema.Int,
  received: Schema.Int,
  inserted: Schema.Int,
  updated: Schema.Int,
  unchanged: Schema.Int,
  skipped_without_value: Schema.Int,
  rejected: Schema.Int.annotate({ description: "Records with an impossible value: counted, not stored" }),
  synced_through: UtcSeconds,
  last_reading_at: Schema.NullOr(UtcSeconds),
  next_poll_at: UtcSeconds
}).annotate({ identifier: "SyncResult" })
export type SyncResultJson = typeof SyncResultJson.Type

export const HealthJson = Schema.Struct({ status: Schema.Literal("ok") }).annotate({ identifier: "Health" })

export const CheckStatus = Schema.Literals(["ok", "down"])
export const ReadinessJson = Schema.Struct({
  status: Schema.Literal("ready"),
  checks: Schema.Struct({ store: CheckStatus, broker: CheckStatus })
}).annotate({ identifier: "Readiness" })
