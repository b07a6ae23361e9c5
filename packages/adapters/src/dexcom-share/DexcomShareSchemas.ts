import { Schema } from "effect"
import { optionalNullable } from "../provider-http/ProviderHttp.ts"

// Unknown fields are ignored (Share adds fields over time); only what the adapter needs is declared.

/** An error answer: HTTP 500 (sometimes 4xx) with `{ Code, Message }`. */
export const ShareErrorBody = Schema.Struct({
  Code: Schema.String,
  Message: optionalNullable(Schema.String)
})
export type ShareErrorBody = typeof ShareErrorBody.Type

/** The login steps answer a bare JSON string: an account id, then a session id (a UUID, all zeros on failure). */
export const ShareUuid = Schema.String

/** One glucose value of `ReadPublisherLatestGlucoseValues`. */
export const ShareGlucoseValue = Schema.Struct({
  /** "Date(1713543055000)" or "/Date(1713543055000)/", sometimes with an offset: the instant. */
  WT: Schema.String,
  ST: optionalNullable(Schema.String),
  /** The display device's time, with its offset when it has one. */
  DT: optionalNullable(Schema.String),
  /** mg/dL, whatever unit the user's app displays. */
  Value: optionalNullable(Schema.Finite),
  /** A name ("Flat") on current servers, a number 0–9 on old ones. */
  Trend: optionalNullable(Schema.Union([Schema.String, Schema.Finite]))
})
export type ShareGlucoseValue = typeof ShareGlucoseValue.Type

export const ShareGlucoseValues = Schema.Array(ShareGlucoseValue)
