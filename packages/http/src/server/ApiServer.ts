import { Layer } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { ApiKeyAuthLive } from "./ApiKeyAuthLive.ts"
import { AuthorizationHandlers } from "./AuthorizationHandlers.ts"
import { ConnectionsHandlers } from "./ConnectionsHandlers.ts"
import { FallbackRoutes, makeRouteOf } from "./Fallback.ts"
import { MetricsRoute } from "./MetricsRoute.ts"
import { NightscoutHandlers } from "./NightscoutHandlers.ts"
import { NightscoutRequestErrorsLive, NightscoutSiteHandlers } from "./NightscoutSiteHandlers.ts"
import { DocsRoutes } from "./OperationalRoutes.ts"
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
 * `ReadingStore`, `ConnectionStore`, `EventPublisher`, `Ingest`, `Sync`, `Connect` and `NightscoutSites`, the
 * `WebhookConfig`, the `ApiKeys` and the `ServerPolicy`.
 */
export const ApiRoutes = Layer.mergeAll(
  HttpApiBuilder.layer(BgIngestApi).pipe(
    Layer.provide([
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
  DocsRoutes,
  MetricsRoute,
  FallbackRoutes(SERVED_BESIDE_THE_API)
).pipe(Layer.provide([ProblemDetailsLive, ApiKeyAuthLive, RequestIdLogsLive, NightscoutRequestErrorsLive]))

/** The route pattern of a request, as `observeRequests` labels it. */
export const routeOf = makeRouteOf(SERVED_BESIDE_THE_API)

/**
 * Options for `HttpRouter.serve`: canonical paths only (`/API/…`, `//api/…` and `…/latest/` are not routes), and
 * path parameters as long as a request line can be, so that an over-long user id reaches its schema (a 400 naming
 * it) instead of falling through to "no route".
 */
export const routerConfig = {
  maxParamLength: 16_384,
  caseSensitive: true,
  ignoreDuplicateSlashes: false,
  ignoreTrailingSlash: false
} as const
