import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ApiKeyAuth } from "./ApiKeyAuth.ts"
import { ConnectionJson, CredentialsJson, SiteAccessJson, SyncResultJson } from "./Json.ts"
import {
  BadRequestProblem,
  ConnectionNeedsAttention,
  ConnectionNotFoundProblem,
  CredentialsRejectedProblem,
  DependencyUnavailable,
  PatientChoiceRequiredProblem,
  PayloadTooLarge,
  ProviderFailed,
  ProviderNotConfigured,
  ProviderRateLimited,
  ProviderTakesNoCredentials,
  ProviderTakesNoSite,
  SiteRefusedProblem,
  TooManyAttempts,
  UnsupportedMediaType
} from "./Problems.ts"
import { UserIdParams } from "./ReadingsApi.ts"
import { RequestIdLogs } from "./RequestIdLogs.ts"

const ProviderParams = {
  ...UserIdParams,
  provider: Schema.String.annotate({ description: "A provider id, such as dexcom or simulator" })
}

export class ConnectionsApi extends HttpApiGroup.make("connections")
  .add(
    HttpApiEndpoint.get("list", "/api/bg/:userId/connections", {
      params: UserIdParams,
      success: Schema.Array(ConnectionJson),
      error: DependencyUnavailable
    }).annotateMerge(
      OpenApi.annotations({
        summary: "The user's provider connections and their health",
        description:
          "Status is one of active, needs_reauthorization, rate_limited, error, disconnected, with the last " +
          "sync, the newest reading, the last error and the next poll. Credentials are never shown."
      })
    ),
    HttpApiEndpoint.put("connect", "/api/bg/:userId/connections/:provider", {
      params: ProviderParams,
      payload: Schema.Union([CredentialsJson, SiteAccessJson]),
      success: [ConnectionJson, ConnectionJson.pipe(HttpApiSchema.status(201))],
      error: [
        BadRequestProblem,
        PayloadTooLarge,
        UnsupportedMediaType,
        TooManyAttempts,
        CredentialsRejectedProblem,
        PatientChoiceRequiredProblem,
        SiteRefusedProblem,
        ProviderTakesNoCredentials,
        ProviderTakesNoSite,
        ProviderNotConfigured,
        ProviderRateLimited,
        ProviderFailed,
        DependencyUnavailable
      ]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Connect a provider account with its username and password, or a user's own site",
        description:
          "For providers without OAuth: dexcom-share and libre-link-up. One login at the provider checks the " +
          "credentials (a refused login is never repeated, so that retries cannot lock the account), then they are " +
          "stored encrypted and the connection is polled from now on, backfilling as far as the provider keeps data " +
          "(Dexcom Share: 24 hours; LibreLinkUp: 12 hours). A LibreLinkUp follower account may follow several " +
          "patients: name the one to read with patient_id (a 400 patient-choice-required lists them). 201 when the " +
          "connection is new; 200 when it existed (its credentials are replaced and polling resumes where it " +
          "stopped). nightscout takes { url, token } or { url, api_secret } instead (a read link with ?token= needs " +
          "no more): one call checks that the site is one the service may call (https outside development; never a " +
          "loopback, private, link-local or metadata address) and that the credential opens it. Passwords, secrets " +
          "and tokens are never shown by any endpoint. At most 5 attempts per user and 60 per API key every 15 minutes (429 with retry_after_seconds beyond)."
      })
    ),
    HttpApiEndpoint.post("sync", "/api/bg/:userId/connections/:provider/sync", {
      params: ProviderParams,
      success: SyncResultJson,
      error: [
        ProviderNotConfigured,
        ConnectionNotFoundProblem,
        ConnectionNeedsAttention,
        ProviderRateLimited,
        ProviderFailed,
        DependencyUnavailable
      ]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Sync one connection now",
        description: "Fetches what is new, stores it and publishes its events before answering."
      })
    ),
    HttpApiEndpoint.delete("disconnect", "/api/bg/:userId/connections/:provider", {
      params: ProviderParams,
      success: HttpApiSchema.NoContent,
      error: [ConnectionNotFoundProblem, DependencyUnavailable]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Disconnect a provider",
        description: "Forgets the credentials and stops polling. Stored readings are kept."
      })
    )
  )
  .middleware(ApiKeyAuth)
  .middleware(RequestIdLogs)
  .annotateMerge(OpenApi.annotations({ title: "Connections", description: "Links between users and CGM providers" })) {}
