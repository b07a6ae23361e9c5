import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiMiddleware, HttpApiSchema, OpenApi } from "effect/http-api"
import { CredentialQuery, EntriesQuery, PebbleQuery } from "./NightscoutSiteQuery.ts"
import { UserIdParams } from "./ReadingsApi.ts"

/**
 * Each user's Nightscout-compatible site: the parts of Nightscout's REST API v1 that uploaders and followers use,
 * with Nightscout's own field names, errors and status codes (not this API's snake_case and problem+json), since
 * those clients understand nothing else. Served under `/ns/:userId` and at the service's root, where the
 * credential names the user.
 */

export const NightscoutEntryJson = Schema.Struct({
  _id: Schema.String.annotate({ description: "24 hex digits, stable for the reading" }),
  type: Schema.Literal("sgv"),
  sgv: Schema.Int.annotate({ description: "mg/dL" }),
  date: Schema.Number.annotate({ description: "Epoch milliseconds" }),
  dateString: Schema.String.annotate({ description: "UTC with milliseconds, e.g. 2026-11-27T15:44:00.000Z" }),
  sysTime: Schema.String,
  utcOffset: Schema.Int.annotate({ description: "Minutes: the offset of the time the uploader sent, else 0" }),
  direction: Schema.String.annotate({ description: "DoubleUp … DoubleDown, NONE, NOT COMPUTABLE, RATE OUT OF RANGE" }),
  trend: Schema.Int.annotate({ description: "The direction as a number, 0–9" }),
  device: Schema.String.annotate({ description: "The uploader's device, else the provider the reading came from" })
}).annotate({ identifier: "NightscoutEntry" })
export type NightscoutEntryJson = typeof NightscoutEntryJson.Type

const Entries = Schema.Array(NightscoutEntryJson).annotate({
  description:
    "Newest first. Without an extension the format follows Accept as Nightscout does: text/plain (one line per " +
    'entry: "dateString"<TAB>date<TAB>sgv<TAB>"direction"<TAB>"device"), tab-separated, CSV or JSON, in that order'
})

/** An upload: an array of entries, or one entry. Entries other than SGV are accepted and not stored. */
export const NightscoutUpload = Schema.Union([
  Schema.Array(Schema.Unknown),
  Schema.Record(Schema.String, Schema.Unknown)
]).annotate({
  identifier: "NightscoutUpload",
  description:
    "Entries as Nightscout takes them: { type: 'sgv', sgv, date (epoch ms) or dateString, direction, trend, " +
    "device }. mbg, cal and other types, and sgv values below 39 (Dexcom's error codes), are accepted and not " +
    "stored. The same (user, second) again changes nothing, a different value updates it."
})

const NightscoutErrorFields = {
  status: Schema.Int,
  message: Schema.String,
  description: Schema.String
}

export const NightscoutUnauthorizedJson = Schema.Struct(NightscoutErrorFields)
  .annotate({
    identifier: "NightscoutUnauthorized",
    description: "No, a wrong, a rotated or another user's credential (or a read token on a write)"
  })
  .pipe(HttpApiSchema.status(401))

export const NightscoutBadRequestJson = Schema.Struct({
  ...NightscoutErrorFields,
  errors: Schema.optional(
    Schema.Array(
      Schema.Struct({ path: Schema.Array(Schema.Union([Schema.String, Schema.Int])), message: Schema.String })
    )
  )
})
  .annotate({ identifier: "NightscoutBadRequest", description: "Which entry or parameter, which field, and why" })
  .pipe(HttpApiSchema.status(400))

export const NightscoutUnavailableJson = Schema.Struct(NightscoutErrorFields)
  .annotate({ identifier: "NightscoutUnavailable", description: "The store or the broker is down: send it again" })
  .pipe(HttpApiSchema.status(503))

export const NightscoutTooLargeJson = Schema.Struct(NightscoutErrorFields)
  .annotate({ identifier: "NightscoutPayloadTooLarge" })
  .pipe(HttpApiSchema.status(413))

export const NightscoutUnsupportedJson = Schema.Struct(NightscoutErrorFields)
  .annotate({ identifier: "NightscoutUnsupportedMediaType" })
  .pipe(HttpApiSchema.status(415))

export const NightscoutStatusJson = Schema.Struct({
  status: Schema.Literal("ok"),
  name: Schema.String,
  version: Schema.String,
  serverTime: Schema.String,
  serverTimeEpoch: Schema.Number,
  apiEnabled: Schema.Boolean,
  careportalEnabled: Schema.Boolean,
  settings: Schema.Record(Schema.String, Schema.Unknown),
  extendedSettings: Schema.Record(Schema.String, Schema.Unknown),
  authorized: Schema.Null
}).annotate({ identifier: "NightscoutStatus" })

export const NightscoutVerifyAuthJson = Schema.Struct({
  status: Schema.Literal(200),
  message: Schema.Struct({
    canRead: Schema.Boolean,
    canWrite: Schema.Boolean,
    isAdmin: Schema.Boolean,
    message: Schema.Literals(["OK", "UNAUTHORIZED"]),
    rolefound: Schema.Literals(["FOUND", "NOTFOUND"]),
    permissions: Schema.Literals(["DEFAULT", "ROLE"])
  })
}).annotate({ identifier: "NightscoutVerifyAuth", description: "Always 200: what the credential presented may do" })

export const NightscoutPebbleJson = Schema.Struct({
  status: Schema.Array(Schema.Struct({ now: Schema.Number })),
  bgs: Schema.Array(
    Schema.Struct({
      sgv: Schema.String,
      trend: Schema.Int,
      direction: Schema.String,
      datetime: Schema.Number,
      bgdelta: Schema.Number
    })
  ),
  cals: Schema.Array(Schema.Unknown)
}).annotate({ identifier: "NightscoutPebble" })

/** `api-secret`: the SHA-1 hex of the API secret (uploaders), or a read token, plain or as its SHA-1. */
export const CredentialHeaders = {
  "api-secret": Schema.optional(Schema.String).annotate({
    description: "SHA-1 hex of the API secret; or a read token (plain or its SHA-1 hex)"
  })
}

/** Request parameters that fail to decode answer a Nightscout-shaped 400, not this API's problem+json. */
export class NightscoutRequestErrors extends HttpApiMiddleware.Service<NightscoutRequestErrors>()(
  "@bg-ingest/http/NightscoutRequestErrors"
) {}

const read = [NightscoutUnauthorizedJson, NightscoutBadRequestJson, NightscoutUnavailableJson]
const write = [...read, NightscoutTooLargeJson, NightscoutUnsupportedJson]
const Spec = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9_-]{1,64}(?:\.(?:json|txt|tsv|csv))?$/, {
    expected: "sgv, current, another type or a 24-hex id, with .json, .txt, .tsv or .csv or no extension"
  })
).annotate({ description: "sgv.json, current.json, mbg.json, <24-hex id>.json; .txt, .tsv, .csv or none" })
const EmptyList = Schema.Array(Schema.Unknown).annotate({ description: "Always an empty list: not stored here" })

/** The endpoints of a site under `base` (`/ns/:userId`, or the root), with `params` for its path. */
const siteEndpoints = <B extends "" | `/${string}`, P extends Schema.Struct.Fields>(base: B, params: P) => {
  const reading = { params, headers: CredentialHeaders, query: CredentialQuery, error: read }
  const writing = { params, headers: CredentialHeaders, query: CredentialQuery, error: write }
  const entries = { params, headers: CredentialHeaders, query: EntriesQuery, success: Entries, error: read }
  return [
    HttpApiEndpoint.get("status", `${base}/api/v1/status.json`, { ...reading, success: NightscoutStatusJson }),
    HttpApiEndpoint.get("statusPlain", `${base}/api/v1/status`, { ...reading, success: NightscoutStatusJson }),
    HttpApiEndpoint.get("verifyauth", `${base}/api/v1/verifyauth`, {
      params,
      headers: CredentialHeaders,
      query: CredentialQuery,
      success: NightscoutVerifyAuthJson
    }),
    HttpApiEndpoint.get("experimentsTest", `${base}/api/v1/experiments/test`, {
      ...reading,
      success: Schema.Struct({ status: Schema.Literal("ok") }).annotate({
        description: "Whether the credential may write (Loop and Trio check their API secret here)"
      })
    }),
    HttpApiEndpoint.get("entries", `${base}/api/v1/entries`, entries),
    HttpApiEndpoint.get("entriesJson", `${base}/api/v1/entries.json`, entries),
    HttpApiEndpoint.get("entriesSpec", `${base}/api/v1/entries/:spec`, {
      ...entries,
      params: { ...params, spec: Spec }
    }),
    HttpApiEndpoint.post("upload", `${base}/api/v1/entries`, {
      ...writing,
      payload: NightscoutUpload,
      success: Entries
    }),
    HttpApiEndpoint.post("uploadJson", `${base}/api/v1/entries.json`, {
      ...writing,
      payload: NightscoutUpload,
      success: Entries
    }),
    HttpApiEndpoint.get("treatments", `${base}/api/v1/treatments`, { ...reading, success: EmptyList }),
    HttpApiEndpoint.get("treatmentsJson", `${base}/api/v1/treatments.json`, { ...reading, success: EmptyList }),
    HttpApiEndpoint.post("postTreatments", `${base}/api/v1/treatments`, { ...writing, success: EmptyList }),
    HttpApiEndpoint.post("postTreatmentsJson", `${base}/api/v1/treatments.json`, { ...writing, success: EmptyList }),
    HttpApiEndpoint.get("devicestatus", `${base}/api/v1/devicestatus`, { ...reading, success: EmptyList }),
    HttpApiEndpoint.get("devicestatusJson", `${base}/api/v1/devicestatus.json`, { ...reading, success: EmptyList }),
    HttpApiEndpoint.post("postDevicestatus", `${base}/api/v1/devicestatus`, { ...writing, success: EmptyList }),
    HttpApiEndpoint.post("postDevicestatusJson", `${base}/api/v1/devicestatus.json`, {
      ...writing,
      success: EmptyList
    }),
    HttpApiEndpoint.get("profile", `${base}/api/v1/profile`, { ...reading, success: EmptyList }),
    HttpApiEndpoint.get("profileJson", `${base}/api/v1/profile.json`, { ...reading, success: EmptyList }),
    HttpApiEndpoint.get("pebble", `${base}/pebble`, {
      ...reading,
      query: PebbleQuery,
      success: NightscoutPebbleJson
    })
  ] as const
}

const described = (description: string) =>
  OpenApi.annotations({ title: "Nightscout", description: `${description} See docs/nightscout.md.` })

export class NightscoutSiteApi extends HttpApiGroup.make("nightscoutSite")
  .add(...siteEndpoints("/ns/:userId", UserIdParams))
  .middleware(NightscoutRequestErrors)
  .annotateMerge(
    described(
      "A user's Nightscout-compatible site, for uploaders (the API secret: its SHA-1 hex in the api-secret header) " +
        "and followers (the read token: ?token=). Its credentials come from POST /api/bg/{userId}/nightscout."
    )
  ) {}

export class NightscoutRootApi extends HttpApiGroup.make("nightscoutRoot")
  .add(...siteEndpoints("", {}))
  .middleware(NightscoutRequestErrors)
  .annotateMerge(
    described(
      "The same site at the service's root, for clients that build absolute paths (xDrip+'s follower, " +
        "nightscout-librelink-up): the credential presented names the user. No credential, or an unknown one, is a 401."
    )
  ) {}
