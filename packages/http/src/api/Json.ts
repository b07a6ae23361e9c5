import { ConnectionStatus, GlucoseStatus, type SiteAccess, Trend } from "@bg-ingest/domain"
import { Redacted, Schema } from "effect"

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

const Secret = (description: string, minimum: number) =>
  Schema.RedactedFromValue(
    Schema.String.check(
      Schema.isMinLength(minimum, { expected: `at least ${minimum} characters` }),
      Schema.isMaxLength(256, { expected: "at most 256 characters" })
    ).annotate({ description, format: "password" })
  )

/** `?token=` in a site URL: the Nightscout way of sharing a read link. */
const tokenInUrl = (url: string) => URL.parse(url)?.searchParams.get("token") ?? null

/**
 * A user's own Nightscout site: its URL and one credential (a read token, or the API secret), never shown again.
 * A read link (`https://site/?token=…`) carries its token.
 */
export const SiteAccessJson = Schema.Struct({
  url: Schema.String.check(
    Schema.isMaxLength(2048, { expected: "a URL of at most 2048 characters" }),
    Schema.makeFilter((url: string) => {
      const parsed = URL.parse(url)
      if (parsed === null || (parsed.protocol !== "https:" && parsed.protocol !== "http:")) {
        return "Expected the site's https URL, e.g. https://my-site.example.org"
      }
      if (parsed.username !== "" || parsed.password !== "") {
        return "A credential in the URL's user part is not accepted: send it as api_secret"
      }
      return undefined
    })
  ).annotate({ description: "The site's base URL, e.g. https://my-site.example.org (a ?token= in it is the token)" }),
  token: Schema.optional(Secret("A read token of the site (a follower's), e.g. reader-0123456789abcdef", 1)),
  api_secret: Schema.optional(Secret("The site's API secret (stored as its SHA-1, the form clients send)", 12))
})
  .check(
    Schema.makeFilter((access) => {
      const given = [access.token, access.api_secret].filter((value) => value !== undefined).length
      if (given > 1) return { path: ["api_secret"], issue: "Give either token or api_secret, not both" }
      if (given === 0 && tokenInUrl(access.url) === null) {
        return { path: ["token"], issue: "A read token or the API secret is required (or a read link with ?token=)" }
      }
      return undefined
    })
  )
  .annotate({ identifier: "SiteAccess" })
export type SiteAccessJson = typeof SiteAccessJson.Type

/** The domain's site access: the URL without its `?token=`, and the one credential given. */
export const siteAccessOf = (json: SiteAccessJson): SiteAccess => {
  const url = new URL(json.url)
  const linked = url.searchParams.get("token")
  url.searchParams.delete("token")
  const base = url.toString()
  if (json.api_secret !== undefined) return { url: base, credential: { kind: "api_secret", value: json.api_secret } }
  return { url: base, credential: { kind: "token", value: json.token ?? Redacted.make(linked ?? "") } }
}

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
