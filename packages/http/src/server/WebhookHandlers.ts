import { Ingest, makeReading, ProviderId, type Reading, type UserId, type WebhookFormat } from "@bg-ingest/domain"
import { Clock, Effect, Result, Schema, Stream } from "effect"
import type { HttpServerRequest } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { BadRequestProblem, InvalidSignature, PayloadTooLarge, UnsupportedMediaType } from "../api/Problems.ts"
import { WEBHOOK_MAX_BYTES, WEBHOOK_MAX_READINGS, WEBHOOK_TOLERANCE_SECONDS, WebhookBody } from "../api/WebhookApi.ts"
import { toProblem } from "./DomainProblems.ts"
import { badRequestFromIssue } from "./ProblemDetails.ts"
import { WebhookConfig } from "./WebhookConfig.ts"
import { checkTimestamp, verifySignature } from "./WebhookSignature.ts"

export const WEBHOOK_PROVIDER_ID = ProviderId.make("webhook")

const decodeOwnBody = Schema.decodeUnknownResult(WebhookBody, { errors: "all" })

/** bg-ingest's own body format: `{ "readings": [{ timestamp, glucose_mg_dl, trend?, … }] }`. */
export const ownWebhookFormat: WebhookFormat = {
  name: "bg-ingest",
  accepts: () => true,
  decode: (userId, json) =>
    Result.map(
      Result.mapError(decodeOwnBody(json), (error) => error.issue),
      (body) => ({
        records: body.readings.length,
        readings: body.readings.map(
          (pushed): Reading =>
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
      })
    )
}

const rejectSignature = (reason: string) => Effect.fail(new InvalidSignature({ detail: reason }))

const tooLarge = () =>
  new PayloadTooLarge({
    detail: `A delivery may carry at most ${WEBHOOK_MAX_BYTES} bytes and ${WEBHOOK_MAX_READINGS} readings`
  })

/** The body's bytes, failing as soon as they exceed the limit (a declared Content-Length is checked first). */
const readBody = Effect.fnUntraced(function* (request: HttpServerRequest.HttpServerRequest) {
  const declared = Number(request.headers["content-length"])
  if (Number.isFinite(declared) && declared > WEBHOOK_MAX_BYTES) return yield* tooLarge()
  const chunks: Array<Uint8Array> = []
  let size = 0
  yield* request.stream.pipe(
    Stream.runForEach((chunk) => {
      size += chunk.length
      if (size > WEBHOOK_MAX_BYTES) return Effect.fail(tooLarge())
      chunks.push(chunk)
      return Effect.void
    }),
    Effect.catchTag("HttpServerError", () =>
      Effect.fail(new BadRequestProblem({ detail: "The body could not be read" }))
    )
  )
  return Buffer.concat(chunks, size)
})

const isJson = (contentType: string | undefined) =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType.trim())

/**
 * `POST /api/bg/:userId/webhook`. In order: the signature (timestamp window, HMAC over the raw bytes, before
 * anything is parsed), the media type, the JSON, each reading, then `Ingest` — which answers only once the readings
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

    const decodeBody = (userId: UserId, json: unknown) => {
      const format = formats.find((candidate) => candidate.accepts(json))!
      return Result.mapError(format.decode(userId, json), (issue) => badRequestFromIssue("payload", issue))
    }

    return handlers.handleRaw(
      "push",
      Effect.fnUntraced(function* ({ params, request }) {
        const headers = request.headers
        const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const timestamp = headers["x-webhook-timestamp"]
        const timely = checkTimestamp(timestamp, nowSeconds, WEBHOOK_TOLERANCE_SECONDS)
        if (!timely.valid) return yield* rejectSignature(timely.reason)
        const body = yield* readBody(request)
        const signed = yield* verifySignature(config.secrets, timestamp!, headers["x-webhook-signature"], body)
        if (!signed.valid) return yield* rejectSignature(signed.reason)

        if (!isJson(headers["content-type"])) {
          return yield* new UnsupportedMediaType({ detail: "The body must be JSON (Content-Type: application/json)" })
        }
        const json = yield* Effect.try({
          try: () => JSON.parse(body.toString("utf8")) as unknown,
          catch: () => new BadRequestProblem({ detail: "The body is not valid JSON" })
        })
        const count = Array.isArray((json as { readings?: unknown })?.readings)
          ? (json as { readings: Array<unknown> }).readings.length
          : Array.isArray((json as { records?: unknown })?.records)
            ? (json as { records: Array<unknown> }).records.length
            : 0
        if (count > WEBHOOK_MAX_READINGS) return yield* tooLarge()
        const decoded = decodeBody(params.userId, json)
        if (Result.isFailure(decoded)) return yield* decoded.failure
        const result = yield* ingest.ingest(params.userId, decoded.success.readings).pipe(Effect.catch(toProblem))
        yield* Effect.logInfo("Webhook delivery stored", {
          userId: params.userId,
          received: result.received,
          inserted: result.inserted,
          updated: result.updated
        })
        return { ...result, received: decoded.success.records }
      })
    )
  })
)
