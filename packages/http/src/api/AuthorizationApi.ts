import { UserId } from "@bg-ingest/domain"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ApiKeyAuth, Unauthorized } from "./ApiKeyAuth.ts"
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

/** A redirect: an empty 302 whose `location` is where the browser goes, setting the flow's browser cookie. */
export const Redirect = HttpApiSchema.WithHeaders(HttpApiSchema.Empty(302), {
  location: Schema.String,
  "cache-control": Schema.String,
  "set-cookie": Schema.String.annotate({
    description:
      "bg_ingest_oauth=<binding>: HttpOnly, SameSite=Lax, Secure outside development, 10 minutes, for the callback path only"
  })
})

/** The cookie that binds an authorization to the browser that started it. */
export const OAUTH_BROWSER_COOKIE = "bg_ingest_oauth"

export const CallbackQuery = {
  code: Schema.optional(Schema.String.check(Schema.isMaxLength(4096))),
  state: Schema.optional(Schema.String.check(Schema.isMaxLength(512))),
  error: Schema.optional(Schema.String.check(Schema.isMaxLength(256))),
  error_description: Schema.optional(Schema.String.check(Schema.isMaxLength(2048))),
  user_id: Schema.optional(UserId).annotate({
    description:
      "Integrators who finish the flow from their backend: the user whose session brought the browser back. Needs " +
      "an API key (when API keys are configured) and replaces the browser cookie: the state must be that user's."
  })
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
            "valid for 10 minutes, and sets a short-lived cookie that binds the flow to this browser: the callback " +
            "links the account only in the browser that started it. With API keys on, the caller is a backend " +
            "holding a key: it sends the user's browser to the Location and finishes the flow itself (callback with " +
            "user_id and its key, docs/oauth.md)."
        })
      ),
    HttpApiEndpoint.get("callback", "/api/connections/:provider/callback", {
      params: ProviderParam,
      query: CallbackQuery,
      success: ConnectedJson,
      error: [
        AuthorizationFailed,
        Unauthorized,
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
          "Checks that the flow comes back to the browser that started it (its cookie) and the state, exchanges the " +
          "code, stores the connection with its tokens encrypted and schedules the backfill. On any failure nothing " +
          "is stored and the user may start again. A browser needs no API key; an integrator's backend finishing the " +
          "flow sends user_id and its API key instead of the cookie."
      })
    )
  )
  .middleware(RequestIdLogs)
  .annotateMerge(
    OpenApi.annotations({ title: "Authorization", description: "Connecting a user's provider account (OAuth 2.0)" })
  ) {}
