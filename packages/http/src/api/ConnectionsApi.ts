import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ApiKeyAuth } from "./ApiKeyAuth.ts"
import { ConnectionJson, SyncResultJson } from "./Json.ts"
import {
  ConnectionNeedsAttention,
  ConnectionNotFoundProblem,
  DependencyUnavailable,
  ProviderFailed,
  ProviderNotConfigured,
  ProviderRateLimited
} from "./Problems.ts"
import { UserIdParams } from "./ReadingsApi.ts"

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
  .annotateMerge(OpenApi.annotations({ title: "Connections", description: "Links between users and CGM providers" })) {}
