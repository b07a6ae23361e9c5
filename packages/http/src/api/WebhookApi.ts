import { GlucoseMgDl, GlucoseStatus, Trend } from "@bg-ingest/domain"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import {
  BadRequestProblem,
  DependencyUnavailable,
  InvalidSignature,
  PayloadTooLarge,
  ServerBusy,
  UnsupportedMediaType
} from "./Problems.ts"
import { UserIdParams } from "./ReadingsApi.ts"
import { RequestIdLogs } from "./RequestIdLogs.ts"
import { Rfc3339Instant } from "./Rfc3339.ts"

export const WEBHOOK_MAX_BYTES = 1024 * 1024
export const WEBHOOK_MAX_READINGS = 10_000
export const WEBHOOK_TOLERANCE_SECONDS = 300

/** One pushed reading in bg-ingest's own format. */
export const PushedReading = Schema.Struct({
  timestamp: Rfc3339Instant,
  glucose_mg_dl: GlucoseMgDl,
  trend: Schema.optional(Trend),
  trend_rate: Schema.optional(Schema.NullOr(Schema.Finite)),
  status: Schema.optional(GlucoseStatus),
  record_id: Schema.optional(Schema.String.check(Schema.isMaxLength(256)))
}).annotate({ identifier: "PushedReading" })

export const WebhookBody = Schema.Struct({ readings: Schema.Array(PushedReading) }).annotate({
  identifier: "WebhookBody",
  description:
    'bg-ingest\'s format. A Dexcom API v3 EGV body ({ "records": [...] }) is accepted too and normalized as the ' +
    "Dexcom provider does."
})

export const WebhookAccepted = Schema.Struct({
  received: Schema.Int,
  inserted: Schema.Int,
  updated: Schema.Int,
  unchanged: Schema.Int
})
  .annotate({ identifier: "WebhookAccepted" })
  .pipe(HttpApiSchema.status(202))

export const WebhookHeaders = {
  "x-webhook-timestamp": Schema.optional(Schema.String).annotate({ description: "Unix seconds when it was signed" }),
  "x-webhook-signature": Schema.optional(Schema.String).annotate({
    description:
      "sha256=<hex HMAC-SHA256 with WEBHOOK_SECRET over `<timestamp>.<path>.<raw body bytes>`>, path as sent without the query"
  })
}

export class WebhookApi extends HttpApiGroup.make("webhook")
  .add(
    HttpApiEndpoint.post("push", "/api/bg/:userId/webhook", {
      params: UserIdParams,
      headers: WebhookHeaders,
      payload: WebhookBody,
      success: WebhookAccepted,
      error: [
        BadRequestProblem,
        InvalidSignature,
        PayloadTooLarge,
        UnsupportedMediaType,
        DependencyUnavailable,
        ServerBusy
      ]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Push readings (partners and relays)",
        description:
          "Signed with `X-Webhook-Timestamp` (unix seconds, within 300 s of now) and `X-Webhook-Signature: " +
          "sha256=<hex>`, the HMAC-SHA256 with the webhook secret over `<timestamp>.<path>.<raw body bytes>`, where " +
          "`<path>` is the request path as sent, without the query (`/api/bg/alice/webhook`). At most " +
          "1 MiB and 10,000 readings. Answered only after the readings are stored and their events confirmed: on a " +
          "503, retry the same delivery; delivering the same readings twice changes nothing."
      })
    )
  )
  .middleware(RequestIdLogs)
  .annotateMerge(OpenApi.annotations({ title: "Webhook", description: "Readings pushed to bg-ingest" })) {}
