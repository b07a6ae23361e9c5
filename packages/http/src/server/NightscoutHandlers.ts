import { NightscoutSites } from "@bg-ingest/domain"
import { Effect, Redacted } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import type { NightscoutSiteJson } from "../api/NightscoutApi.ts"
import { NightscoutSiteNotFound } from "../api/Problems.ts"
import { toProblem } from "./DomainProblems.ts"

/** `POST` and `DELETE /api/bg/:userId/nightscout`. Needs `NightscoutSites`. */
export const NightscoutHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "nightscout",
  Effect.fn(function* (handlers) {
    const sites = yield* NightscoutSites
    return handlers
      .handle(
        "open",
        Effect.fnUntraced(function* ({ params }) {
          const opened = yield* sites.open(params.userId).pipe(Effect.catchTag("NightscoutSiteStoreError", toProblem))
          const body: NightscoutSiteJson = {
            site_path: `/ns/${params.userId}`,
            api_secret: Redacted.value(opened.apiSecret),
            read_token: Redacted.value(opened.readToken)
          }
          // Credentials: never kept by a cache on the way.
          return HttpServerResponse.jsonUnsafe(body, {
            status: opened.created ? 201 : 200,
            headers: { "cache-control": "no-store" }
          })
        })
      )
      .handle(
        "close",
        Effect.fnUntraced(function* ({ params }) {
          const existed = yield* sites.close(params.userId).pipe(Effect.catchTag("NightscoutSiteStoreError", toProblem))
          if (!existed) {
            return yield* new NightscoutSiteNotFound({ detail: `${params.userId} has no Nightscout site` })
          }
        })
      )
  })
)
