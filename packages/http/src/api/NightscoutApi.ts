import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ApiKeyAuth } from "./ApiKeyAuth.ts"
import { DependencyUnavailable, NightscoutSiteNotFound } from "./Problems.ts"
import { UserIdParams } from "./ReadingsApi.ts"
import { RequestIdLogs } from "./RequestIdLogs.ts"

/** The credentials of a user's Nightscout site, shown once, when they are issued. */
export const NightscoutSiteJson = Schema.Struct({
  site_path: Schema.String.annotate({
    description: "The site's base path on this service, /ns/<userId>: uploaders and followers append /api/v1/…"
  }),
  api_secret: Schema.String.annotate({
    description:
      "For uploaders (read and write): configure it as the site's API secret; clients send its SHA-1 in the " +
      "api-secret header. Also opens the service's root site (/api/v1/…) as this user.",
    format: "password"
  }),
  read_token: Schema.String.annotate({
    description: "For followers (read only): ?token=<read_token> on any request of the site",
    format: "password"
  })
}).annotate({ identifier: "NightscoutSite" })
export type NightscoutSiteJson = typeof NightscoutSiteJson.Type

export class NightscoutApi extends HttpApiGroup.make("nightscout")
  .add(
    HttpApiEndpoint.post("open", "/api/bg/:userId/nightscout", {
      params: UserIdParams,
      success: [NightscoutSiteJson, NightscoutSiteJson.pipe(HttpApiSchema.status(201))],
      error: DependencyUnavailable
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Open the user's Nightscout site, or rotate its credentials",
        description:
          "201 with a new API secret (uploaders) and read token (followers) when the site is new; 200 with new ones " +
          "when it existed, and the previous ones stop working at once. They are shown only in this answer: " +
          "only digests are stored (the answer is sent with Cache-Control: no-store). See docs/nightscout.md for pointing uploaders and followers at the site."
      })
    ),
    HttpApiEndpoint.delete("close", "/api/bg/:userId/nightscout", {
      params: UserIdParams,
      success: HttpApiSchema.NoContent,
      error: [NightscoutSiteNotFound, DependencyUnavailable]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Close the user's Nightscout site",
        description:
          "Its credentials stop working at once: the site answers 401 from then on. Stored readings are kept."
      })
    )
  )
  .middleware(ApiKeyAuth)
  .middleware(RequestIdLogs)
  .annotateMerge(
    OpenApi.annotations({
      title: "Nightscout site",
      description: "Each user's Nightscout-compatible site (uploaders write to it, followers read from it)"
    })
  ) {}
