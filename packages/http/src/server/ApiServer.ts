import { Layer } from "effect"
import { HttpApiBuilder, HttpApiScalar } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { ApiKeyAuthLive } from "./ApiKeyAuthLive.ts"
import { AuthorizationHandlers } from "./AuthorizationHandlers.ts"
import { ConnectionsHandlers } from "./ConnectionsHandlers.ts"
import { FallbackRoutes, makeRouteOf } from "./Fallback.ts"
import { MetricsRoute } from "./MetricsRoute.ts"
import { NightscoutHandlers } from "./NightscoutHandlers.ts"
import { NightscoutRequestErrorsLive, NightscoutSiteHandlers } from "./NightscoutSiteHandlers.ts"
import { ProblemDetailsLive } from "./ProblemDetails.ts"
import { ReadingsHandlers } from "./ReadingsHandlers.ts"
import { RequestIdLogsLive } from "./RequestIdLogsLive.ts"
import { SummaryHandlers } from "./SummaryHandlers.ts"
import { SystemHandlers } from "./SystemHandlers.ts"
import { WebhookHandlers } from "./WebhookHandlers.ts"

const SERVED_BESIDE_THE_API = [
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  { method: "GET", path: "/metrics" }
]

/**
 * Every route of the service, to be served with `HttpRouter.serve`. Needs the domain services the handlers use:
 * `ReadingStore`, `ConnectionStore`, `EventPublisher`, `Ingest`, `Sync`, `Connect` and `NightscoutSites`, the `WebhookConfig` and the
 * `ApiKeys`.
 */
export const ApiRoutes = Layer.mergeAll(
  HttpApiBuilder.layer(BgIngestApi, { openapiPath: "/openapi.json" }).pipe(
    Layer.provide([
      ReadingsHandlers,
      ReadingsHandlers,
      SummaryHandlers,
      ConnectionsHandlers,
      AuthorizationHandlers,
      SystemHandlers,
      WebhookHandlers,
      NightscoutHandlers,
      NightscoutSiteHandlers
    ])
  ),
  HttpApiScalar.layer(BgIngestApi, { path: "/docs" }),
  MetricsRoute,
  FallbackRoutes(SERVED_BESIDE_THE_API)
).pipe(Layer.provide([ProblemDetailsLive, ApiKeyAuthLive, RequestIdLogsLive, NightscoutRequestErrorsLive]))

/** The route pattern of a request, as `observeRequests` labels it. */
export const routeOf = makeRouteOf(SERVED_BESIDE_THE_API)

/** Options for `HttpRouter.serve`: user ids may be 128 characters, longer than the router's default of 100. */
export const routerConfig = { maxParamLength: 256 } as const
