import { Clock, Context, Data, DateTime, Duration, Effect, Option, type Redacted, Schema } from "effect"
import { ProviderId, type UserId } from "../model/Identifiers.ts"
import type { Reading } from "../model/Reading.ts"
import { isEmptyWindow, type TimeWindow } from "../model/TimeWindow.ts"

/** The user's grant is gone (revoked, expired, password changed): polling stops until they re-authorize. */
export class NeedsReauthorization extends Schema.TaggedError<NeedsReauthorization>()("NeedsReauthorization", {
  provider: ProviderId,
  message: Schema.String
}) {}

/**
 * The provider asked us to slow down; try again after `retryAfter`. With `budgetSpent`, the provider was not even
 * asked: the call budget all replicas share is spent until then, and the sync is deferred, not failed.
 */
export class RateLimited extends Schema.TaggedError<RateLimited>()("RateLimited", {
  provider: ProviderId,
  retryAfter: Schema.Duration,
  message: Schema.String,
  budgetSpent: Schema.optional(Schema.Boolean)
}) {}

/** The provider could not be reached or kept failing after retries (5xx, timeouts, resets). */
export class ProviderUnavailable extends Schema.TaggedError<ProviderUnavailable>()("ProviderUnavailable", {
  provider: ProviderId,
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}) {}

/** The provider answered with something we cannot read. Nothing from that answer is stored. */
export class InvalidProviderResponse extends Schema.TaggedError<InvalidProviderResponse>()("InvalidProviderResponse", {
  provider: ProviderId,
  message: Schema.String
}) {}

export type ProviderError = NeedsReauthorization | RateLimited | ProviderUnavailable | InvalidProviderResponse

/**
 * An authorization could not be completed: the user refused consent (`access_denied`), the provider refused the
 * authorization code (expired, already used, issued to another client), or the provider reported another error.
 * Nothing is stored; the user may start again.
 */
export class AuthorizationRejected extends Schema.TaggedError<AuthorizationRejected>()("AuthorizationRejected", {
  provider: ProviderId,
  reason: Schema.Literals(["access_denied", "missing_code", "invalid_code", "provider_error"]),
  message: Schema.String
}) {}

/** How a provider that uses OAuth 2.0 (authorization code flow) lets a user connect. */
export interface ProviderAuthorization {
  /** The provider's consent page, carrying `state`, to send the user's browser to. */
  readonly consentUrl: (state: string) => string
  /**
   * Exchanges the authorization code from the callback for the user's credentials, encrypted for storage in
   * the connection (opaque to everything but the provider's adapter). Nothing is stored by this call.
   */
  readonly exchangeCode: (
    userId: UserId,
    code: string
  ) => Effect.Effect<string, AuthorizationRejected | RateLimited | ProviderUnavailable | InvalidProviderResponse>
}

/**
 * The provider refused a username and password, or would not try them: `invalid_credentials` (wrong username or
 * password), `account_locked` (too many failed logins; the provider locked the account for a while),
 * `recently_refused` (these exact credentials were refused a short while ago and are not tried again yet, so that
 * retries never lock the account), `action_required` (the provider wants the account holder to do something in
 * its own app first, such as accepting new terms of use; never done on their behalf). Nothing is stored.
 */
export class CredentialsRejected extends Schema.TaggedError<CredentialsRejected>()("CredentialsRejected", {
  provider: ProviderId,
  reason: Schema.Literals(["invalid_credentials", "account_locked", "recently_refused", "action_required"]),
  message: Schema.String
}) {}

/** A user's login at a provider that has no OAuth (Dexcom Share, LibreLinkUp). */
export interface ProviderCredentials {
  readonly username: string
  readonly password: Redacted.Redacted<string>
  /**
   * Which of the account's patients to read, for providers whose accounts follow several people (LibreLinkUp);
   * providers whose account holds one person's data ignore it.
   */
  readonly patientId?: string | undefined
}

/** One person whose readings a provider account can read (a patient a LibreLinkUp follower account follows). */
export const FollowedPatient = Schema.Struct({ patientId: Schema.String, name: Schema.String })
export type FollowedPatient = typeof FollowedPatient.Type

/**
 * The credentials were accepted, but they do not say whose readings to read: `patient_required` (the account
 * follows several patients and none was named), `unknown_patient` (the named patient is not one the account
 * follows), `no_patient` (the account follows nobody yet, e.g. an invitation never accepted). `patients` lists
 * the ones to choose from. Nothing is stored.
 */
export class PatientChoiceRequired extends Schema.TaggedError<PatientChoiceRequired>()("PatientChoiceRequired", {
  provider: ProviderId,
  reason: Schema.Literals(["patient_required", "unknown_patient", "no_patient"]),
  patients: Schema.Array(FollowedPatient),
  message: Schema.String
}) {}

/** How a provider that takes a username and password lets a user connect. */
export interface ProviderCredentialsLogin {
  /**
   * Checks the credentials with one login at the provider and answers them encrypted for storage in the
   * connection (opaque to everything but the provider's adapter). Nothing is stored by this call.
   */
  readonly verify: (
    userId: UserId,
    credentials: ProviderCredentials
  ) => Effect.Effect<
    string,
    CredentialsRejected | PatientChoiceRequired | RateLimited | ProviderUnavailable | InvalidProviderResponse
  >
}

/**
 * A user's own site at a self-hosted provider (a Nightscout site): where it is, and one credential for it. The
 * site's address is the user's: the adapter decides whether the service may call it at all.
 */
export interface SiteAccess {
  /** The site's base URL, as the user gave it (its path kept), without a credential in it. */
  readonly url: string
  readonly credential: { readonly kind: "token" | "api_secret"; readonly value: Redacted.Redacted<string> }
}

/**
 * The service will not use a site: `scheme` (not https, outside development), `address` (its host resolves to a
 * loopback, private, link-local or metadata address), `redirect` (it answers with a redirect, which is not
 * followed), `not_a_site` (what answers there is not the provider's API). Nothing is stored.
 */
export class SiteRefused extends Schema.TaggedError<SiteRefused>()("SiteRefused", {
  provider: ProviderId,
  reason: Schema.Literals(["scheme", "address", "redirect", "not_a_site"]),
  message: Schema.String
}) {}

/** How a self-hosted provider lets a user connect their own site. */
export interface ProviderSiteLogin {
  /**
   * Checks the site and the credential with one call and answers them encrypted for storage in the connection
   * (opaque to everything but the provider's adapter). Nothing is stored by this call.
   */
  readonly verify: (
    userId: UserId,
    access: SiteAccess
  ) => Effect.Effect<
    string,
    SiteRefused | CredentialsRejected | RateLimited | ProviderUnavailable | InvalidProviderResponse
  >
}

/** The readings a provider returned for one window, and how many of its records carried no value. */
export interface FetchedReadings {
  readonly readings: ReadonlyArray<Reading>
  readonly skippedWithoutValue: number
  /** Records that carried a value the domain rejects (outside the glucose range): counted, not stored. */
  readonly rejected?: number
}

/**
 * What a provider can tell about a user's data before any of it is fetched; the sync fetches accordingly.
 *
 * - `CannotTell`: the sync fetches from its cursor, reaching back by `lateDataOverlap`, up to now.
 * - `NoData`: the user has no data at the provider at all; nothing is fetched.
 * - `Span`: all of the user's data lies from `earliest` to `latest` (both included); nothing is fetched when
 *   `latest` is older than the cursor.
 * - `ChangedSince`: asked for what changed since an instant, the provider names the windows holding every record
 *   that reached it after that instant, late records older than the newest one included; exactly those are
 *   fetched, and none when nothing changed.
 *
 * `pulledAt`, when given, is the instant the answer speaks for, as the provider counts time: every record that
 * reached the provider before it is covered by the answer. Once the sync has stored what it fetched and its events
 * are confirmed, it keeps `pulledAt` with the connection (`changesSince`) and passes it as `since` next time. A
 * provider that cannot tell what changed since a time leaves it out; an answer without it keeps the instant kept.
 */
export type DataChanges = Data.TaggedEnum<{
  CannotTell: { readonly pulledAt?: DateTime.Utc }
  NoData: { readonly pulledAt?: DateTime.Utc }
  Span: { readonly earliest: DateTime.Utc; readonly latest: DateTime.Utc; readonly pulledAt?: DateTime.Utc }
  ChangedSince: { readonly windows: ReadonlyArray<TimeWindow>; readonly pulledAt: DateTime.Utc }
}>
export const DataChanges = Data.taggedEnum<DataChanges>()

/** The instant the next sync asks for changes since, if the provider gave one. */
export const pulledAtOf = (changes: DataChanges): Option.Option<DateTime.Utc> =>
  Option.fromUndefinedOr(changes.pulledAt)

/** What the sync and the scheduler must know about a provider. */
export interface ProviderLimits {
  /** The longest window one fetch may cover (Dexcom: 30 days, Share: 24 hours). */
  readonly maxWindow: Duration.Duration
  /** How far back data can be fetched at all, if the provider limits it (Share: 24 hours). */
  readonly maxHistory: Option.Option<Duration.Duration>
  /** How far before the newest stored reading each poll reaches, for late and backfilled records. */
  readonly lateDataOverlap: Duration.Duration
  /** The shortest sensible interval between polls of one user. */
  readonly minPollInterval: Duration.Duration
}

export interface CgmProviderShape {
  readonly id: ProviderId
  readonly limits: ProviderLimits
  /**
   * What the provider can tell about the user's data: asked with `since` (what the connection kept of the last
   * answer's `pulledAt`), a provider that can tell what changed since then answers `ChangedSince`. A provider
   * that cannot tell anything answers `DataChanges.CannotTell()`.
   */
  readonly changes: (userId: UserId, since: Option.Option<DateTime.Utc>) => Effect.Effect<DataChanges, ProviderError>
  /** Readings with `window.from <= timestamp < window.to`, in any order. The window never exceeds `maxWindow`. */
  readonly fetchReadings: (userId: UserId, window: TimeWindow) => Effect.Effect<FetchedReadings, ProviderError>
  /** Present when users connect through OAuth (Dexcom); absent when no consent is needed (the simulator). */
  readonly authorization?: ProviderAuthorization
  /** Present when users connect with a username and password (Dexcom Share, LibreLinkUp). */
  readonly credentialsLogin?: ProviderCredentialsLogin
  /** Present when users connect their own site (Nightscout). */
  readonly siteLogin?: ProviderSiteLogin
}

/** One CGM provider. The runner registers every configured provider in {@link CgmProviders}. */
export class CgmProvider extends Context.Service<CgmProvider, CgmProviderShape>()("@bg-ingest/domain/CgmProvider") {}

/** What a fetch answers when there is nothing to fetch. */
export const noReadings: FetchedReadings = { readings: [], skippedWithoutValue: 0, rejected: 0 }

/** The `changes` of a provider that cannot tell anything about a user's data without reading it. */
export const cannotTellChanges = (): Effect.Effect<DataChanges> => Effect.succeed(DataChanges.CannotTell({}))

/**
 * Whether fetching `window` has nothing to ask the provider: the window is empty, or it ends before the oldest
 * data the provider still keeps (`maxHistory`), so a fetch answers {@link noReadings} without a call.
 */
export const isBeyondReach = Effect.fnUntraced(function* (limits: ProviderLimits, window: TimeWindow) {
  if (isEmptyWindow(window)) return true
  if (Option.isNone(limits.maxHistory)) return false
  const now = yield* Clock.currentTimeMillis
  return DateTime.toEpochMillis(window.to) <= now - Duration.toMillis(limits.maxHistory.value)
})
