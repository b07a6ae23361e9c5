import { makeWindow, readingInstantIssue, type UserId, type WebhookFormat } from "@bg-ingest/domain"
import { DateTime, Option, Result, Schema, SchemaIssue } from "effect"
import { normalizeEgvs } from "./DexcomNormalize.ts"
import { DEXCOM_PROVIDER_ID } from "./DexcomProvider.ts"
import { DexcomEgvsResponse } from "./DexcomSchemas.ts"
import { parseDexcomTime } from "./DexcomTime.ts"

const looksLikeEgvs = Schema.is(Schema.Struct({ records: Schema.Array(Schema.Unknown) }))
const decodeEgvs = Schema.decodeUnknownResult(DexcomEgvsResponse, { errors: "all" })
const ALL_TIME = makeWindow(DateTime.makeUnsafe(0), DateTime.makeUnsafe(8.64e15))

/**
 * A Dexcom API v3 EGV body (`{ "records": [...] }`) pushed to the webhook by a relay, read exactly as the
 * Dexcom provider reads a poll's answer: records without a value or with an impossible one are skipped (they
 * count as received, not stored). A record whose `systemTime` breaks the domain's instant rule (1970–9999, at
 * most 10 minutes ahead) fails the delivery with its path, as any invalid field does. The runner registers it with
 * the webhook.
 */
export const dexcomWebhookFormat = {
  name: "dexcom-egvs",
  accepts: (json: unknown): boolean => looksLikeEgvs(json),
  decode: (userId: UserId, json: unknown, nowMillis: number) => {
    const decoded = decodeEgvs(json)
    if (Result.isFailure(decoded)) return Result.fail(decoded.failure.issue)
    for (const [index, record] of decoded.success.records.entries()) {
      const instant = parseDexcomTime(record.systemTime)
      const issue = Option.isNone(instant) ? undefined : readingInstantIssue(instant.value, nowMillis)
      if (issue !== undefined) return Result.fail(new SchemaIssue.Pointer(["records", index, "systemTime"], issue))
    }
    const normalized = normalizeEgvs(DEXCOM_PROVIDER_ID, userId, decoded.success.records, ALL_TIME)
    if (Result.isFailure(normalized)) {
      return Result.fail(new SchemaIssue.InvalidValue({ message: `Unreadable Dexcom body: ${normalized.failure}` }))
    }
    return Result.succeed({ readings: normalized.success.readings, records: decoded.success.records.length })
  }
} as const satisfies WebhookFormat
