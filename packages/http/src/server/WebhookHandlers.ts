import {
  Ingest,
  makeReading,
  ProviderId,
  type Reading,
  readingInstantIssue,
  type UserId,
  type WebhookFormat
} from "@bg-ingest/domain"
import { Clock, Effect, Result, Schema, SchemaIssue } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import {
  BadRequestProblem,
  InvalidSignature,
  PayloadTooLarge,
  ServerBusy,
  UnsupportedMediaType
} from "../api/Problems.ts"
import { WEBHOOK_MAX_BYTES, WEBHOOK_MAX_READINGS, WEBHOOK_TOLERANCE_SECONDS, WebhookBody } from "../api/WebhookApi.ts"
import { toProblem } from "./DomainProblems.ts"
import { badRequestFromIssue } from "./ProblemDetails.ts"
import { isJsonMediaType, readBodyBytes } from "./RequestBody.ts"
import { SERVER_LIMITS } from "./ServerLimits.ts"
import { WebhookConfig } from "./WebhookConfig.ts"
import { checkSignatureHeader, checkTimestamp, verifySignature } from "./WebhookSignature.ts"

export const WEBHOOK_PROVIDER_ID = ProviderId.make("webhook")

const decodeOwnBody = Schema.decodeUnknownResult(WebhookBody, { errors: "all" })

/** bg-ingest's own body format: `{ "readings": [{ timestamp, glucose_mg_dl, trend?, … }] }`. */
export const ownWebhookFormat: WebhookFormat = {
  name: "bg-ingest",
  accepts: () => true,
  decode: (userId, json, nowMillis) => {
    const decoded = decodeOwnBody(json)
    if (Result.isFailure(decoded)) return Result.fail(decoded.failure.issue)
    const pushedReadings = decoded.success.readings
    const readings: Array<Reading> = []
    for (const [index, pushed] of pushedReadings.entries()) {
      const issue = readingInstantIssue(pushed.timestamp, nowMillis)
      if (issue !== undefined) return Result.fail(new SchemaIssue.Pointer(["readings", index, "timestamp"], issue))
      readings.push(
        makeReading({
          userId,
          timestamp: pushed.timestamp,
          glucoseMgDl: pushed.glucose_mg_dl,
          trend: pushed.trend ?? "unknown",
          trendRate: pushed.trend_rate ?? null,
          status: pushed.status ?? "ok",
          source: { provider: WEBHOOK_PROVIDER_ID, recordId: pushed.record_id ?? null }
        })
      )
    }
    return Result.succeed({ records: pushedReadings.length, readings })
  }
}

/** How many readings a body would decode: both arrays a format may read count, whatever its shape. */
const declaredReadings = (json: unknown): number => {
  if (typeof json !== "object" || json === null) return 0
  const { readings, records } = json as { readings?: unknown; records?: unknown }
  return (Array.isArray(readings) ? readings.length : 0) + (Array.isArray(records) ? records.length : 0)
}

const rejectSignature = (reason: string) => Effect.fail(new InvalidSignature({ detail: reason }))

const tooLarge = () =>
  new PayloadTooLarge({
    detail: `A delivery may carry at most ${WEBHOOK_MAX_BYTES} bytes and ${WEBHOOK_MAX_READINGS} readings`
  })

/**
 * `POST /api/bg/:userId/webhook`. In order: the signature (timestamp window, HMAC over the timestamp, the path as
 * sent and the raw bytes, before anything is parsed), the media type, the JSON, each reading, then `Ingest` — which answers only once the readings
 * are stored and their events confirmed, so a 202 means nothing can be lost and a 503 means "send it again".
 * Needs `Ingest` and `WebhookConfig`.
 */
export const WebhookHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "webhook",
  Effect.fn(function* (handlers) {
    const ingest = yield* Ingest
    const config = yield* WebhookConfig
    const formats = [...config.formats, ownWebhookFormat]

    const decodeBody = (userId: UserId, json: unknown, nowMillis: number) => {
      const format = formats.find((candidate) => candidate.accepts(json))!
      return Result.mapError(format.decode(userId, json, nowMillis), (issue) => badRequestFromIssue("payload", issue))
    }

    // Bodies are read whole before the signature can be checked: all deliveries together hold at most
    // `maxWebhookBytesInFlight`, so that slow or unsigned senders cannot make the process hold more.
    let bytesInFlight = 0

    /** After the headers passed: the body read, its signature checked, its readings decoded and ingested. */
    const receive = Effect.fnUntraced(function* (
      userId: UserId,
      request: HttpServerRequest.HttpServerRequest,
      timestamp: string,
      nowMillis: number
    ) {
      const headers = request.headers
      const body = yield* readBodyBytes(request, WEBHOOK_MAX_BYTES, tooLarge)
      const queryAt = request.url.indexOf("?")
      const path = queryAt === -1 ? request.url : request.url.slice(0, queryAt)
      const signed = yield* verifySignature(config.secrets, timestamp, path, headers["x-webhook-signature"], body)
      if (!signed.valid) return yield* rejectSignature(signed.reason)

      if (!isJsonMediaType(headers["content-type"])) {
        return yield* new UnsupportedMediaType({ detail: "The body must be JSON (Content-Type: application/json)" })
      }
      const json = yield* Effect.try({
        try: () => JSON.parse(body.toString("utf8")) as unknown,
        catch: () => new BadRequestProblem({ detail: "The body is not valid JSON" })
      })
      if (declaredReadings(json) > WEBHOOK_MAX_READINGS) return yield* tooLarge()
      const decoded = decodeBody(userId, json, nowMillis)
      if (Result.isFailure(decoded)) return yield* decoded.failure
      const result = yield* ingest.ingest(userId, decoded.success.readings).pipe(Effect.catch(toProblem))
      yield* Effect.logInfo("Webhook delivery stored", {
        userId,
        received: result.received,
        inserted: result.inserted,
        updated: result.updated
      })
      return { ...result, received: decoded.success.records }
    })

    return handlers.handleRaw(
      "push",
      Effect.fnUntraced(function* ({ params, request }) {
        const headers = request.headers
        const nowMillis = yield* Clock.currentTimeMillis
        const timestamp = headers["x-webhook-timestamp"]
        const timely = checkTimestamp(timestamp, Math.floor(nowMillis / 1000), WEBHOOK_TOLERANCE_SECONDS)
        if (!timely.valid) return yield* rejectSignature(timely.reason)
        const shaped = checkSignatureHeader(headers["x-webhook-signature"])
        if (!shaped.valid) return yield* rejectSignature(shaped.reason)
        const declared = Number(headers["content-length"])
        const reserved = Number.isFinite(declared) && declared <= WEBHOOK_MAX_BYTES ? declared : WEBHOOK_MAX_BYTES
        if (bytesInFlight + reserved > SERVER_LIMITS.maxWebhookBytesInFlight) {
          return yield* new ServerBusy({
            detail: "Too many deliveries are being received right now; retry shortly",
            retry_after_seconds: 1
          })
        }
        bytesInFlight += reserved
        return yield* receive(params.userId, request, timestamp!, nowMillis).pipe(
          Effect.ensuring(Effect.sync(() => (bytesInFlight -= reserved)))
        )
      })
    )
  })
)
