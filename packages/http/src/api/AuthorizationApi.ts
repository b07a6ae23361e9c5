import { UserId } from "@bg-ingest/domain"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ApiKeyAuth } from "./ApiKeyAuth.ts"
import { ConnectedJson } from "./Json.ts"
import {
  AuthorizationFailed,
  DependencyUnavailable,
  ProviderFailed,
  ProviderNotConfigured,
  ProviderNotConnectable,
  ProviderRateLimited
} from "./Problems.ts"
import { RequestIdLogs } from "./RequestIdLogs.ts"

const ProviderParam = {
  provider: Schema.String.annotate({ description: "A provider that users connect through OAuth, such as dexcom" })
}

/** A redirect: an empty 302 whose `location` is where the browser goes. */
export const Redirect = HttpApiSchema.WithHeaders(HttpApiSchema.Empty(302), {
  location: Schema.String,
  "cache-control": Schema.String
})

export const CallbackQuery = {
  code: Schema.optional(Schema.String.check(Schema.isMaxLength(4096))),
  state: Schema.optional(Schema.String.check(Schema.isMaxLength(512))),
  error: Schema.optional(Schema.String.check(Schema.isMaxLength(256))),
  error_description: Schema.optional(Schema.String.check(Schema.isMaxLength(2048)))
}

export class AuthorizationApi extends HttpApiGroup.make("authorization")
  .add(
    HttpApiEndpoint.get("authorize", "/api/connections/:provider/authorize", {
      params: ProviderParam,
      query: { user_id: UserId.annotate({ description: "The user who connects their account" }) },
      success: Redirect,
      error: [ProviderNotConfigured, ProviderNotConnectable, DependencyUnavailable]
    })
      .middleware(ApiKeyAuth)
      .annotateMerge(
        OpenApi.annotations({
          summary: "Start connecting a provider account",
          description:
            "Answers 302 to the provider's consent page, with a state bound to the user that is single-use and " +
            "valid for 10 minutes. With API keys on, the caller (a backend holding a key) sends the user's browser to " +
            "the Location. The provider then sends the browser to the callback."
        })
      ),
    HttpApiEndpoint.get("callback", "/api/connections/:provider/callback", {
      params: ProviderParam,
      query: CallbackQuery,
      success: ConnectedJson,
      error: [
        AuthorizationFailed,
        ProviderNotConfigured,
        ProviderNotConnectable,
        ProviderRateLimited,
        ProviderFailed,
        DependencyUnavailable
      ]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Finish connecting (the provider's redirect)",
        description:
          "Checks the state, exchanges the code, stores the connection with its tokens encrypted and schedules " +
          "the backfill. On any failure nothing is stored and the user may start again. Needs no API key: the " +
          "state authenticates it."
      })
    )
  )
  .middleware(RequestIdLogs)
  .annotateMerge(
    OpenApi.annotations({ title: "Authorization", description: "Connecting a user's provider account (OAuth 2.0)" })
  ) {}
