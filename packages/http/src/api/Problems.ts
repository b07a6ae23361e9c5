import { Schema } from "effect"
import { HttpApiError } from "effect/http-api"

/**
 * The API's errors, each an RFC 9457 problem (`application/problem+json`). `type` identifies the problem kind;
 * `detail` says what happened in this instance. Generic HTTP failures (bad request, unknown route, wrong method,
 * oversize body) use `about:blank`.
 */

/**
 * A `reason` member: one of the keys of `reasons`, each described in the OpenAPI document by its value, then
 * `after` (what the client does about any of them).
 */
const describedReason = <const Reason extends string>(reasons: Readonly<Record<Reason, string>>, after: string) =>
  Schema.Literals(Object.keys(reasons).map((reason) => reason as Reason)).annotate({
    description: `${Object.entries(reasons)
      .map(([reason, meaning]) => `${reason}: ${meaning}`)
      .join("; ")}. ${after}`
  })

/** The member of the problems that say when to try again, in whole seconds. */
const retryAfter = { retry_after_seconds: Schema.Int }

export const { BadRequestProblem } = HttpApiError
export type BadRequestProblem = HttpApiError.BadRequestProblem

export class NoReadings extends HttpApiError.Problem<NoReadings>()("NoReadings", {
  type: "urn:bg-ingest:problem:no-readings",
  status: 404,
  title: "No readings"
}) {}

export class ConnectionNotFoundProblem extends HttpApiError.Problem<ConnectionNotFoundProblem>()(
  "ConnectionNotFoundProblem",
  { type: "urn:bg-ingest:problem:connection-not-found", status: 404, title: "Connection not found" }
) {}

export class ProviderNotConfigured extends HttpApiError.Problem<ProviderNotConfigured>()("ProviderNotConfigured", {
  type: "urn:bg-ingest:problem:provider-not-configured",
  status: 404,
  title: "Provider not configured"
}) {}

export class ConnectionNeedsAttention extends HttpApiError.Problem<ConnectionNeedsAttention>()(
  "ConnectionNeedsAttention",
  { type: "urn:bg-ingest:problem:connection-needs-attention", status: 409, title: "Connection needs attention" },
  { connection_status: Schema.String }
) {}

export class ProviderRateLimited extends HttpApiError.Problem<ProviderRateLimited>()(
  "ProviderRateLimited",
  { type: "urn:bg-ingest:problem:provider-rate-limited", status: 429, title: "Provider rate limit reached" },
  retryAfter
) {}

export class ProviderFailed extends HttpApiError.Problem<ProviderFailed>()("ProviderFailed", {
  type: "urn:bg-ingest:problem:provider-failed",
  status: 502,
  title: "Provider failed"
}) {}

export class DependencyUnavailable extends HttpApiError.Problem<DependencyUnavailable>()(
  "DependencyUnavailable",
  { type: "urn:bg-ingest:problem:dependency-unavailable", status: 503, title: "Service unavailable" },
  { dependency: Schema.Literals(["store", "broker"]) }
) {}

export class TooManyAttempts extends HttpApiError.Problem<TooManyAttempts>()(
  "TooManyAttempts",
  { type: "urn:bg-ingest:problem:too-many-attempts", status: 429, title: "Too many attempts" },
  retryAfter
) {}

export class ServerBusy extends HttpApiError.Problem<ServerBusy>()(
  "ServerBusy",
  { type: "urn:bg-ingest:problem:busy", status: 503, title: "Busy" },
  retryAfter
) {}

export class NotReady extends HttpApiError.Problem<NotReady>()(
  "NotReady",
  { type: "urn:bg-ingest:problem:not-ready", status: 503, title: "Not ready" },
  { checks: Schema.Struct({ store: Schema.Literals(["ok", "down"]), broker: Schema.Literals(["ok", "down"]) }) }
) {}

export class InvalidSignature extends HttpApiError.Problem<InvalidSignature>()("InvalidSignature", {
  type: "urn:bg-ingest:problem:invalid-signature",
  status: 401,
  title: "Invalid signature"
}) {}

export class PayloadTooLarge extends HttpApiError.Problem<PayloadTooLarge>()("PayloadTooLarge", {
  type: "about:blank",
  status: 413,
  title: "Payload Too Large"
}) {}

export class UnsupportedMediaType extends HttpApiError.Problem<UnsupportedMediaType>()("UnsupportedMediaType", {
  type: "about:blank",
  status: 415,
  title: "Unsupported Media Type"
}) {}

export class AuthorizationFailed extends HttpApiError.Problem<AuthorizationFailed>()(
  "AuthorizationFailed",
  { type: "urn:bg-ingest:problem:authorization-failed", status: 400, title: "Authorization not completed" },
  {
    reason: Schema.Literals([
      "missing",
      "unknown_or_used",
      "expired",
      "wrong_provider",
      "wrong_user",
      "wrong_browser",
      "access_denied",
      "missing_code",
      "invalid_code",
      "provider_error"
    ]).annotate({
      description:
        "missing/unknown_or_used/expired/wrong_provider/wrong_user: the state does not finish an authorization " +
        "started here; wrong_browser: the callback did not come back to the browser that started the flow (its " +
        "cookie is missing or belongs to another flow); access_denied: the user declined; missing_code/invalid_code/provider_error: the provider " +
        "gave no usable code. Start again from the authorize endpoint."
    })
  }
) {}

export class ProviderNotConnectable extends HttpApiError.Problem<ProviderNotConnectable>()("ProviderNotConnectable", {
  type: "urn:bg-ingest:problem:provider-not-connectable",
  status: 400,
  title: "Provider needs no authorization"
}) {}

export class CredentialsRejectedProblem extends HttpApiError.Problem<CredentialsRejectedProblem>()(
  "CredentialsRejectedProblem",
  { type: "urn:bg-ingest:problem:credentials-rejected", status: 400, title: "Credentials rejected" },
  {
    reason: describedReason(
      {
        invalid_credentials: "the provider refused the username or password",
        account_locked:
          "the provider locked the account after too many failed logins (wait, or unlock it at the provider)",
        recently_refused:
          "these exact credentials were refused a short while ago and are not tried again yet (so that retries never lock the account)",
        action_required:
          "the account holder must first do something in the provider's app, such as accepting new terms of use (never done on their behalf; detail says what)"
      },
      "Nothing was stored."
    )
  }
) {}

export const FollowedPatientJson = Schema.Struct({
  patient_id: Schema.String.annotate({ description: "The value to send as patient_id" }),
  name: Schema.String.annotate({ description: "The patient's name as the provider shows it" })
}).annotate({ identifier: "FollowedPatient" })

export class PatientChoiceRequiredProblem extends HttpApiError.Problem<PatientChoiceRequiredProblem>()(
  "PatientChoiceRequiredProblem",
  { type: "urn:bg-ingest:problem:patient-choice-required", status: 400, title: "Patient choice required" },
  {
    reason: describedReason(
      {
        patient_required: "the account follows several patients and no patient_id was given",
        unknown_patient: "the account does not follow the patient_id given",
        no_patient: "the account follows nobody yet (the patient's invitation was not accepted)"
      },
      "Send the credentials again with one of patients[].patient_id. Nothing was stored."
    ),
    patients: Schema.Array(FollowedPatientJson)
  }
) {}

export class ProviderTakesNoCredentials extends HttpApiError.Problem<ProviderTakesNoCredentials>()(
  "ProviderTakesNoCredentials",
  {
    type: "urn:bg-ingest:problem:provider-takes-no-credentials",
    status: 400,
    title: "Provider takes no username and password"
  }
) {}

export class NightscoutSiteNotFound extends HttpApiError.Problem<NightscoutSiteNotFound>()("NightscoutSiteNotFound", {
  type: "urn:bg-ingest:problem:nightscout-site-not-found",
  status: 404,
  title: "Nightscout site not found"
}) {}

export class ProviderTakesNoSite extends HttpApiError.Problem<ProviderTakesNoSite>()("ProviderTakesNoSite", {
  type: "urn:bg-ingest:problem:provider-takes-no-site",
  status: 400,
  title: "Provider is not connected with a site address"
}) {}

export class SiteRefusedProblem extends HttpApiError.Problem<SiteRefusedProblem>()(
  "SiteRefusedProblem",
  { type: "urn:bg-ingest:problem:site-refused", status: 400, title: "Site refused" },
  {
    reason: describedReason(
      {
        scheme: "only https sites are called (outside development)",
        address:
          "the host resolves to a loopback, private, link-local or metadata address, which the service never calls",
        redirect: "the site answers with a redirect, which is not followed (give the address it redirects to)",
        not_a_site: "no Nightscout answers there"
      },
      "Nothing was stored."
    )
  }
) {}
