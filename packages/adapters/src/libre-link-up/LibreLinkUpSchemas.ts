import { Schema } from "effect"
import { optionalNullable } from "../provider-http/ProviderHttp.ts"

// Unknown fields are ignored (LibreLinkUp adds fields over time); only what the adapter needs is declared, and what
// it can do without is optional and nullable.

/** Every answer: a numeric `status` in the body (0 is success), whatever the HTTP status. */
export const LibreEnvelope = Schema.Struct({
  status: optionalNullable(Schema.Finite),
  data: Schema.optional(Schema.Unknown),
  error: optionalNullable(Schema.Struct({ message: optionalNullable(Schema.String) })),
  /** A refreshed ticket, on every authenticated answer. */
  ticket: Schema.optional(Schema.Unknown),
  /** Some refusals carry only a message (`RequiredHeaderMissing`, `invalid or expired jwt`). */
  message: optionalNullable(Schema.String)
})
export type LibreEnvelope = typeof LibreEnvelope.Type

/** `{ token, expires, duration }`: a JWT, its expiry in unix seconds, its lifetime in milliseconds. */
export const LibreTicket = Schema.Struct({
  token: Schema.String.check(Schema.isMinLength(1)),
  expires: Schema.Finite,
  duration: optionalNullable(Schema.Finite)
})
export type LibreTicket = typeof LibreTicket.Type

/** A login that succeeded: the follower's user (whose id feeds `account-id`) and the ticket. */
export const LibreLoginData = Schema.Struct({
  user: Schema.Struct({ id: Schema.String.check(Schema.isMinLength(1)) }),
  authTicket: LibreTicket
})

/** A login at a server that is not the account's home: log in again at `region`'s server. */
export const LibreRedirectData = Schema.Struct({ redirect: Schema.Literal(true), region: Schema.String })

/** A login that needs the account holder first (`tou`, `pp`, `verifyEmail`, ...). */
export const LibreStepData = Schema.Struct({
  step: Schema.Struct({
    type: optionalNullable(Schema.String),
    componentName: optionalNullable(Schema.String)
  })
})

/** An account locked after failed logins: `{ message: "locked", data: { failures, interval, lockout } }`. */
export const LibreLockData = Schema.Struct({
  message: optionalNullable(Schema.String),
  data: optionalNullable(
    Schema.Struct({
      failures: optionalNullable(Schema.Finite),
      interval: optionalNullable(Schema.Finite),
      /** Seconds. */
      lockout: optionalNullable(Schema.Finite)
    })
  )
})

/** The answer of a call made with a too old `version` header (HTTP 403, status 920). */
export const LibreMinimumVersionData = Schema.Struct({ minimumVersion: Schema.String })

/** One glucose item: a history point (`type` 0) or the current reading (`type` 1). */
export const LibreGlucoseItem = Schema.Struct({
  /** `M/D/YYYY h:mm:ss AM` in UTC: the instant. */
  FactoryTimestamp: Schema.String,
  /** The same instant on the patient's phone, in its local time: never an instant. */
  Timestamp: optionalNullable(Schema.String),
  type: optionalNullable(Schema.Finite),
  /** Always mg/dL, whatever the patient's unit (`Value` is in that unit, and is never used). */
  ValueInMgPerDl: optionalNullable(Schema.Finite),
  /** 1–5 on the current reading and scans; history points have none. */
  TrendArrow: optionalNullable(Schema.Finite),
  isHigh: optionalNullable(Schema.Boolean),
  isLow: optionalNullable(Schema.Boolean)
})
export type LibreGlucoseItem = typeof LibreGlucoseItem.Type

/** A followed patient, with the current reading. */
export const LibreConnection = Schema.Struct({
  patientId: Schema.String.check(Schema.isMinLength(1)),
  firstName: optionalNullable(Schema.String),
  lastName: optionalNullable(Schema.String),
  glucoseMeasurement: optionalNullable(LibreGlucoseItem),
  glucoseItem: optionalNullable(LibreGlucoseItem)
})
export type LibreConnection = typeof LibreConnection.Type

export const LibreConnections = Schema.Array(LibreConnection)

/** `GET /llu/connections/{patientId}/graph`: the patient (with the current reading) and about 12 hours of history. */
export const LibreGraph = Schema.Struct({
  connection: optionalNullable(LibreConnection),
  graphData: optionalNullable(Schema.Array(LibreGlucoseItem))
})
export type LibreGraph = typeof LibreGraph.Type

/** `GET /llu/config/country`: each region's API server. */
export const LibreCountryConfig = Schema.Struct({
  regionalMap: Schema.Record(Schema.String, Schema.Struct({ lslApi: optionalNullable(Schema.String) }))
})
