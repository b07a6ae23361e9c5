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
import * as Problem from "../api/Problems.ts"

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
  new Problem.DependencyUnavailable({
    dependency,
    detail:
      dependency === "store"
        ? "The reading store is unavailable; retry later"
        : "The event broker is unavailable; retry later"
  })

/** The problem each domain error answers with: one entry per tag, and every tag has one. */
const problems = {
  UnknownProvider: (error) => new Problem.ProviderNotConfigured({ detail: error.message }),
  ProviderNotConnectable: (error) =>
    error.way === "oauth"
      ? new Problem.ProviderNotConnectable({ detail: error.message })
      : error.way === "site"
        ? new Problem.ProviderTakesNoSite({ detail: error.message })
        : new Problem.ProviderTakesNoCredentials({ detail: error.message }),
  SiteRefused: (error) => new Problem.SiteRefusedProblem({ detail: error.message, reason: error.reason }),
  AuthorizationStateInvalid: (error) =>
    new Problem.AuthorizationFailed({ detail: error.message, reason: error.reason }),
  AuthorizationRejected: (error) => new Problem.AuthorizationFailed({ detail: error.message, reason: error.reason }),
  CredentialsRejected: (error) =>
    new Problem.CredentialsRejectedProblem({ detail: error.message, reason: error.reason }),
  PatientChoiceRequired: (error) =>
    new Problem.PatientChoiceRequiredProblem({
      detail: error.message,
      reason: error.reason,
      patients: error.patients.map((patient) => ({ patient_id: patient.patientId, name: patient.name }))
    }),
  ConnectionNotFound: (error) => new Problem.ConnectionNotFoundProblem({ detail: error.message }),
  ConnectionNotPollable: (error) =>
    new Problem.ConnectionNeedsAttention({ detail: error.message, connection_status: error.status }),
  NeedsReauthorization: (error) =>
    new Problem.ConnectionNeedsAttention({
      detail: `The user must authorize ${error.provider} again: ${error.message}`,
      connection_status: "needs_reauthorization"
    }),
  RateLimited: (error) =>
    new Problem.ProviderRateLimited({
      detail: error.message,
      retry_after_seconds: Math.ceil(Duration.toSeconds(error.retryAfter))
    }),
  ProviderUnavailable: (error) => new Problem.ProviderFailed({ detail: error.message }),
  InvalidProviderResponse: (error) => new Problem.ProviderFailed({ detail: error.message }),
  ReadingStoreError: () => dependencyUnavailable("store"),
  ConnectionStoreError: () => dependencyUnavailable("store"),
  OAuthStateStoreError: () => dependencyUnavailable("store"),
  NightscoutSiteStoreError: () => dependencyUnavailable("store"),
  EventPublishError: () => dependencyUnavailable("broker")
} satisfies { readonly [T in Tag]: (error: Extract<DomainError, { readonly _tag: T }>) => unknown }

type AnyProblem = ReturnType<(typeof problems)[Tag]>

/**
 * The problem of one error type. `ProviderNotConnectable` answers by the way of connecting that was refused, so
 * that each endpoint's declared problems stay exact.
 */
export type ProblemOf<E extends DomainError> =
  E extends NotConnectable<"oauth">
    ? Problem.ProviderNotConnectable
    : E extends NotConnectable<"credentials">
      ? Problem.ProviderTakesNoCredentials
      : E extends NotConnectable<"site">
        ? Problem.ProviderTakesNoSite
        : ReturnType<(typeof problems)[E["_tag"]]>

/**
 * Fails with the problem a domain error answers with. A store or broker failure answers 503 (the caller may
 * retry) and is logged with its message, which names the operation and never carries request data.
 */
export const toProblem = <E extends DomainError>(error: E): Effect.Effect<never, ProblemOf<E>> => {
  // Each entry takes the errors of its own tag: the lookup by `error._tag` is what the mapped type guarantees.
  const problem = (problems[error._tag] as (error: DomainError) => AnyProblem)(error)
  const fail = Effect.fail(problem as ProblemOf<E>)
  return problem instanceof Problem.DependencyUnavailable
    ? Effect.logError("Dependency unavailable", { dependency: problem.dependency, reason: error.message }).pipe(
        Effect.andThen(fail)
      )
    : fail
}
