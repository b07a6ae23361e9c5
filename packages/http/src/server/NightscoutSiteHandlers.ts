import type { UserId } from "@bg-ingest/domain"
import { Effect, Layer, Option, SchemaIssue } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpApiBuilder, HttpApiMiddleware } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { NightscoutRequestErrors } from "../api/NightscoutSiteApi.ts"
import { negotiateFormat } from "./nightscout/NightscoutFormats.ts"
import { parseSpec } from "./nightscout/NightscoutQueries.ts"
import { badRequest } from "./nightscout/NightscoutResponses.ts"
import { makeNightscoutSite } from "./nightscout/NightscoutSite.ts"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** A parameter of a site request that does not decode: Nightscout's 400, naming it. */
export const NightscoutRequestErrorsLive = HttpApiMiddleware.layerSchemaErrorTransform(
  NightscoutRequestErrors,
  (error) =>
    Effect.succeed(
      badRequest(
        formatIssues(error.cause.issue).issues.map((issue) => ({
          path: [
            error.kind.toLowerCase(),
            ...(issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment))
          ],
          message: issue.message
        }))
      )
    )
)

type Site = Effect.Success<typeof makeNightscoutSite>

interface Input {
  readonly params: unknown
  readonly headers: { readonly "api-secret"?: string | undefined }
  readonly query: { readonly token?: string | undefined; readonly secret?: string | undefined }
  readonly request: HttpServerRequest.HttpServerRequest
}

/** The decoded query as a record: the `find[...]` keys are generated, so its static type does not list them. */
const queryRecord = (input: Input) => input.query as Readonly<Record<string, unknown>>

/** Every handler of a site, for the user of its path (`/ns/:userId`) or, at the root, for none. */
const handlersOf = (site: Site, userOf: (params: unknown) => Option.Option<UserId>) => {
  const request = (input: Input) => ({ site: userOf(input.params), headers: input.headers, query: input.query })
  const negotiated = (input: Input) => negotiateFormat(input.request.headers.accept) ?? "json"
  return {
    status: (input: Input) => site.status(request(input)),
    verifyauth: (input: Input) => site.verifyAuth(request(input)),
    experimentsTest: (input: Input) => site.experimentsTest(request(input)),
    entries: (input: Input) => site.entries({ ...request(input), query: queryRecord(input) }, negotiated(input)),
    entriesJson: (input: Input) => site.entries({ ...request(input), query: queryRecord(input) }, "json"),
    entriesSpec: (input: Input & { readonly params: { readonly spec: string } }) => {
      const { target, format } = parseSpec(input.params.spec)
      return site.entries({ ...request(input), query: queryRecord(input), target }, format ?? negotiated(input))
    },
    upload: (input: Input) => site.upload(request(input), input.request),
    emptyList: (input: Input) => site.emptyList(request(input)),
    acceptAndDrop: (input: Input) => site.acceptAndDrop(request(input), input.request),
    pebble: (input: Input) =>
      site.pebble({
        ...request(input),
        count: queryRecord(input).count as number | undefined,
        units: queryRecord(input).units as "mgdl" | "mmol" | undefined
      })
  }
}

/**
 * The handlers of one of the two groups of the same site: under `/ns/:userId` (the user of the path) or at the root
 * (the credential names the user). Needs `NightscoutSites`, a `ReadingStore` and `Ingest`.
 */
const siteHandlers = (group: "nightscoutSite" | "nightscoutRoot", userOf: (params: unknown) => Option.Option<UserId>) =>
  HttpApiBuilder.group(
    BgIngestApi,
    group,
    Effect.fn(function* (handlers) {
      const site = handlersOf(yield* makeNightscoutSite, userOf)
      return handlers
        .handleRaw("status", site.status)
        .handleRaw("statusPlain", site.status)
        .handleRaw("verifyauth", site.verifyauth)
        .handleRaw("experimentsTest", site.experimentsTest)
        .handleRaw("entries", site.entries)
        .handleRaw("entriesJson", site.entriesJson)
        .handleRaw("entriesSpec", site.entriesSpec)
        .handleRaw("upload", site.upload)
        .handleRaw("uploadJson", site.upload)
        .handleRaw("treatments", site.emptyList)
        .handleRaw("treatmentsJson", site.emptyList)
        .handleRaw("postTreatments", site.acceptAndDrop)
        .handleRaw("postTreatmentsJson", site.acceptAndDrop)
        .handleRaw("devicestatus", site.emptyList)
        .handleRaw("devicestatusJson", site.emptyList)
        .handleRaw("postDevicestatus", site.acceptAndDrop)
        .handleRaw("postDevicestatusJson", site.acceptAndDrop)
        .handleRaw("profile", site.emptyList)
        .handleRaw("profileJson", site.emptyList)
        .handleRaw("pebble", site.pebble)
    })
  )

/** Both sites: under `/ns/:userId` and at the root. */
export const NightscoutSiteHandlers = Layer.mergeAll(
  siteHandlers("nightscoutSite", (params) => Option.some((params as { readonly userId: UserId }).userId)),
  siteHandlers("nightscoutRoot", () => Option.none())
)
