import { Schema } from "effect"
import { optionalNullable } from "../provider-http/ProviderHttp.ts"

// Unknown fields are ignored everywhere (Dexcom adds fields over time); fields the adapter does not need are not
// declared, so their types cannot fail a decode.

/** `expires_in` is a number in every documented example; accept a numeric string too. */
const Seconds = Schema.Union([Schema.Finite, Schema.FiniteFromString])

/** The token endpoint's answer to a code exchange or a refresh. */
export const DexcomTokenResponse = Schema.Struct({
  access_token: Schema.NonEmptyString,
  refresh_token: optionalNullable(Schema.NonEmptyString),
  expires_in: optionalNullable(Seconds),
  token_type: optionalNullable(Schema.String)
})
export type DexcomTokenResponse = typeof DexcomTokenResponse.Type

/** The token endpoint's error body (RFC 6749 §5.2). */
export const DexcomOAuthError = Schema.Struct({
  error: Schema.String
})

/** One estimated glucose value record of `GET /v3/users/self/egvs`. */
export const DexcomEgvRecord = Schema.Struct({
  recordId: optionalNullable(Schema.String),
  systemTime: Schema.String,
  displayTime: optionalNullable(Schema.String),
  value: optionalNullable(Schema.Finite),
  status: optionalNullable(Schema.String),
  trend: optionalNullable(Schema.String),
  trendRate: optionalNullable(Schema.Finite),
  unit: optionalNullable(Schema.String),
  rateUnit: optionalNullable(Schema.String)
})
export type DexcomEgvRecord = typeof DexcomEgvRecord.Type

export const DexcomEgvsResponse = Schema.Struct({
  records: Schema.Array(DexcomEgvRecord)
})
export type DexcomEgvsResponse = typeof DexcomEgvsResponse.Type

const DexcomRecordTime = Schema.Struct({
  systemTime: Schema.String,
  displayTime: optionalNullable(Schema.String)
})

/** `GET /v3/users/self/dataRange`: first and last record per kind; a kind the user has no record of is absent. */
export const DexcomDataRangeResponse = Schema.Struct({
  egvs: optionalNullable(
    Schema.Struct({
      start: optionalNullable(DexcomRecordTime),
      end: optionalNullable(DexcomRecordTime)
    })
  )
})
export type DexcomDataRangeResponse = typeof DexcomDataRangeResponse.Type
