import { HttpApi, HttpApiMiddleware, OpenApi } from "effect/http-api"
import { AuthorizationApi } from "./AuthorizationApi.ts"
import { ConnectionsApi } from "./ConnectionsApi.ts"
import { NightscoutApi } from "./NightscoutApi.ts"
import { NightscoutRootApi, NightscoutSiteApi } from "./NightscoutSiteApi.ts"
import { ReadingsApi } from "./ReadingsApi.ts"
import { SummaryApi } from "./SummaryApi.ts"
import { SystemApi } from "./SystemApi.ts"
import { WebhookApi } from "./WebhookApi.ts"

/** The whole HTTP API of bg-ingest: schemas only, so that clients import it without the server. */
export class BgIngestApi extends HttpApi.make("bg-ingest")
  .add(ReadingsApi)
  .add(SummaryApi)
  .add(ConnectionsApi)
  .add(AuthorizationApi)
  .add(WebhookApi)
  .add(NightscoutApi)
  .add(NightscoutSiteApi)
  .add(NightscoutRootApi)
  .add(SystemApi)
  .middleware(HttpApiMiddleware.ProblemDetails)
  .annotateMerge(
    OpenApi.annotations({
      title: "bg-ingest",
      version: "0.1.0",
      description:
        "Blood-glucose readings from CGM providers. Times are RFC 3339 UTC with Z and no fractional seconds; " +
        "JSON is snake_case; errors are RFC 9457 problem+json."
    })
  ) {}
