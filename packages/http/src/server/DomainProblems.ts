import type {
  AuthorizeError,
  CompleteError,
  ConnectionStoreError,
  ConnectToSiteError,
  ConnectWithCredentialsError,
  DisconnectError,
  EventPublishError,
  NightscoutSiteStoreError,
  NotConnectable,
  ReadingStoreError,
  SyncError
} from "@bg-ingest/domain"
import { Duration, Effect } from "effect"
import {
  AuthorizationFailed,
  ConnectionNeedsAttention,
  ConnectionNotFoundProblem,
  CredentialsRejectedProblem,
  DependencyUnavailable,
  PatientChoiceRequiredProblem,
  ProviderFailed,
  ProviderNotConfigured,
  ProviderNotConnectable,
  ProviderRateLimited,
  ProviderTakesNoCredentials,
  ProviderTakesNoSite,
  SiteRefusedProblem
} from "../api/Problems.ts"

/**
 * Every failure the handlers meet from the domain: the errors of the use cases and ports they call. A use case
 * that gains an error widens this union, and {@link problems} no longer compiles until the new tag is mapped.
 */
export type DomainError =
  | AuthorizeError
  | CompleteError
  | ConnectWithCredentialsError
  | ConnectToSiteError
  | DisconnectError
  | SyncError
  | ReadingStoreError
  | EventPublishError
  | ConnectionStoreError
  | NightscoutSiteStoreError

type Tag = DomainError["_tag"]

const dependencyUnavailable = (dependency: "store" | "broker") =>
  new DependencyUnavailable({
    dependency,
    detail:
      dependency === "store"
        ? "The reading store is unavailable; retry later"
        : "The event broker is unavailable; retry later"
  })

/** The problem each domain error answers with: one entry per tag, and every tag has one. */
const problems = {
  UnknownProvider: (error) => new ProviderNotConfigured({ detail: error.message }),
  ProviderNotConnectable: (error) =>
    error.way === "oauth"
      ? new ProviderNotConnectable({ detail: error.message })
      : error.way === "site"
        ? new ProviderTakesNoSite({ detail: error.message })
        : new ProviderTakesNoCredentials({ detail: error.message }),
  SiteRefused: (error) => new SiteRefusedProblem({ detail: error.message, reason: error.reason }),
  AuthorizationStateInvalid: (error) => new AuthorizationFailed({ detail: error.message, reason: error.reason }),
  AuthorizationRejected: (error) => new AuthorizationFailed({ detail: error.message, reason: error.reason }),
  CredentialsRejected: (error) => new CredentialsRejectedProblem({ detail: error.message, reason: error.reason }),
  PatientChoiceRequired: (error) =>
    new PatientChoiceRequiredProblem({
      detail: error.message,
      reason: error.reason,
      patients: error.patients.map((patient) => ({ patient_id: patient.patientId, name: patient.name }))
    }),
  ConnectionNotFound: (error) => new ConnectionNotFoundProblem({ detail: error.message }),
  ConnectionNotPollable: (error) =>
    new ConnectionNeedsAttention({ detail: error.message, connection_status: error.status }),
  NeedsReauthorization: (error) =>
    new ConnectionNeedsAttention({
      detail: `The user must authorize ${error.provider} again: ${error.message}`,
      connection_status: "needs_reauthorization"
    }),
  RateLimited: (error) =>
    new ProviderRateLimited({
      detail: error.message,
      retry_after_seconds: Math.ceil(Duration.toSeconds(error.retryAfter))
    }),
  ProviderUnavailable: (error) => new ProviderFailed({ detail: error.message }),
  InvalidProviderResponse: (error) => new ProviderFailed({ detail: error.message }),
  ReadingStoreError: () => dependencyUnavailable("store"),
  ConnectionStoreError: () => dependencyUnavailable("store"),
  OAuthStateStoreError: () => dependencyUnavailable("store"),
  NightscoutSiteStoreError: () => dependencyUnavailable("store"),
  EventPublishError: () => dependencyUnavailable("broker")
} satisfies { readonly [T in Tag]: (error: Extract<DomainError, { readonly _tag: T }>) => unknown }

type Problem = ReturnType<(typeof problems)[Tag]>

/**
 * The problem of one error type. `ProviderNotConnectable` answers by the way of connecting that was refused, so
 * that each endpoint's declared problems stay exact.
 */
export type ProblemOf<E extends DomainError> =
  E extends NotConnectable<"oauth">
    ? ProviderNotConnectable
    : E extends NotConnectable<"credentials">
      ? ProviderTakesNoCredentials
      : E extends NotConnectable<"site">
        ? ProviderTakesNoSite
        : ReturnType<(typeof problems)[E["_tag"]]>

/**
 * Fails with the problem a domain error answers with. A store or broker failure answers 503 (the caller may
 * retry) and is logged with its message, which names the operation and never carries request data.
 */
export const toProblem = <E extends DomainError>(error: E): Effect.Effect<never, ProblemOf<E>> => {
  // Each entry takes the errors of its own tag: the lookup by `error._tag` is what the mapped type guarantees.
  const problem = (problems[error._tag] as (error: DomainError) => Problem)(error)
  const fail = Effect.fail(problem as ProblemOf<E>)
  return problem instanceof DependencyUnavailable
    ? Effect.logError("Dependency unavailable", { dependency: problem.dependency, reason: error.message }).pipe(
        Effect.andThen(fail)
      )
    : fail
}
