import { Schema } from "effect"

// Unknown fields are ignored everywhere (Dexcom adds fields over time); fields the adapter does not need are not
// declared, so their types cannot fail a decode.

const OptionalNullable = <S extends Schema.Top>(schema: S) => Schema.optional(Schema.NullOr(schema))

/** `expires_in` is a number in every documented example; accept a numeric string too. */
const Seconds = Schema.Union([Schema.Finite, Schema.FiniteFromString])

/** The token endpoint's answer to a code exchange or a refresh. */
export const DexcomTokenResponse = Schema.Struct({
  access_token: Schema.NonEmptyString,
  refresh_token: OptionalNullable(Schema.NonEmptyString),
  expires_in: OptionalNullable(Seconds),
  token_type: OptionalNullable(Schema.String)
})
export type DexcomTokenResponse = typeof DexcomTokenResponse.Type

/** The token endpoint's error body (RFC 6749 §5.2). */
export const DexcomOAuthError = Schema.Struct({
  error: Schema.String
})

/** One estimated glucose value record of `GET /v3/users/self/egvs`. */
export const DexcomEgvRecord = Schema.Struct({
  recordId: OptionalNullable(Schema.String),
  systemTime: Schema.String,
  displayTime: OptionalNullable(Schema.String),
  value: OptionalNullable(Schema.Finite),
  status: OptionalNullable(Schema.String),
  trend: OptionalNullable(Schema.String),
  trendRate: OptionalNullable(Schema.Finite),
  unit: OptionalNullable(Schema.String),
  rateUnit: OptionalNullable(Schema.String)
})
export type DexcomEgvRecord = typeof DexcomEgvRecord.Type

export const DexcomEgvsResponse = Schema.Struct({
  records: Schema.Array(DexcomEgvRecord)
})
export type DexcomEgvsResponse = typeof DexcomEgvsResponse.Type

const DexcomRecordTime = Schema.Struct({
  systemTime: Schema.String,
  displayTime: OptionalNullable(Schema.String)
})

/** `GET /v3/users/self/dataRange`: first and last record per kind; a kind the user has no record of is absent. */
export const DexcomDataRangeResponse = Schema.Struct({
  egvs: OptionalNullable(
    Schema.Struct({
      start: OptionalNullable(DexcomRecordTime),
      end: OptionalNullable(DexcomRecordTime)
    })
  )
})
export type DexcomDataRangeResponse = typeof DexcomDataRangeResponse.Type
