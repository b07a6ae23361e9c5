import { type DateTime, Schema } from "effect"
import type { Connection, ConnectionNotFound } from "../model/Connection.ts"
import type { UserId } from "../model/Identifiers.ts"
import type {
  AuthorizationRejected,
  CredentialsRejected,
  InvalidProviderResponse,
  PatientChoiceRequired,
  ProviderUnavailable,
  RateLimited,
  SiteRefused
} from "../ports/CgmProvider.ts"
import type { UnknownProvider } from "../ports/CgmProviders.ts"
import type { ConnectionStoreError } from "../ports/ConnectionStore.ts"
import type { OAuthStateStoreError } from "../ports/OAuthStateStore.ts"

/** What connecting a user can fail with, and what it answers: the vocabulary of the `Connect` use case. */

/** The provider cannot be connected this way: it needs no consent (the simulator), or uses another way to connect. */
export class ProviderNotConnectable extends Schema.TaggedError<ProviderNotConnectable>()("ProviderNotConnectable", {
  provider: Schema.String,
  /** The way that was asked for: through OAuth, with a username and password, or with the user's own site. */
  way: Schema.Literals(["oauth", "credentials", "site"]),
  message: Schema.String
}) {}

/** {@link ProviderNotConnectable} for one way of connecting, as each use case can fail with it. */
export type NotConnectable<Way extends ProviderNotConnectable["way"]> = ProviderNotConnectable & { readonly way: Way }

export const notConnectable = <Way extends ProviderNotConnectable["way"]>(
  way: Way,
  provider: string,
  message: string
): NotConnectable<Way> => new ProviderNotConnectable({ provider, way, message }) as NotConnectable<Way>

/**
 * The callback's `state` does not finish an authorization this service started: absent, unknown or already
 * used, expired, started for another provider or another user, or finished in a browser other than the one that
 * started it. Nothing is stored.
 */
export class AuthorizationStateInvalid extends Schema.TaggedError<AuthorizationStateInvalid>()(
  "AuthorizationStateInvalid",
  {
    provider: Schema.String,
    reason: Schema.Literals(["missing", "unknown_or_used", "expired", "wrong_provider", "wrong_user", "wrong_browser"]),
    message: Schema.String
  }
) {}

export interface AuthorizationStart {
  /** The provider's consent page, to redirect the user's browser to. */
  readonly consentUrl: string
  /** The user must finish the consent page before this instant. */
  readonly expiresAt: DateTime.Utc
  /**
   * A value for the browser that starts the flow to keep (a short-lived cookie) and bring back to the callback:
   * without it, or with the user's identity vouched for by the caller (`expectedUserId`), the callback links
   * nothing. So a consent page sent to someone else's browser cannot link their account to this user.
   */
  readonly browserBinding: string
}

/** What the provider's redirect brought back, as received (every field may be missing). */
export interface CallbackParams {
  readonly code?: string | undefined
  readonly state?: string | undefined
  readonly error?: string | undefined
  /** What the browser finishing the flow kept from `authorize` (`AuthorizationStart.browserBinding`). */
  readonly browserBinding?: string | undefined
  /**
   * The user an authenticated caller (an integrator's backend, which knows whose session brought the browser
   * back) says is finishing the flow: checked against the state instead of the browser binding.
   */
  readonly expectedUserId?: UserId | undefined
}

export type AuthorizeError = UnknownProvider | NotConnectable<"oauth"> | OAuthStateStoreError

export type CompleteError =
  | UnknownProvider
  | NotConnectable<"oauth">
  | AuthorizationStateInvalid
  | AuthorizationRejected
  | RateLimited
  | ProviderUnavailable
  | InvalidProviderResponse
  | OAuthStateStoreError
  | ConnectionStoreError

export type ConnectWithCredentialsError =
  | UnknownProvider
  | NotConnectable<"credentials">
  | CredentialsRejected
  | PatientChoiceRequired
  | RateLimited
  | ProviderUnavailable
  | InvalidProviderResponse
  | ConnectionStoreError

export type ConnectToSiteError =
  | UnknownProvider
  | NotConnectable<"site">
  | SiteRefused
  | CredentialsRejected
  | RateLimited
  | ProviderUnavailable
  | InvalidProviderResponse
  | ConnectionStoreError

export type DisconnectError = ConnectionNotFound | ConnectionStoreError

export interface CredentialsConnected {
  readonly connection: Connection
  /** False when the user's connection existed (re-connected, or its credentials replaced). */
  readonly created: boolean
}
