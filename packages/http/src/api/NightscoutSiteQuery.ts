import { parseNightscoutTime } from "@bg-ingest/domain"
import { Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"

/**
 * The query parameters of Nightscout's entries API, as its clients send them: `count`, and `find` conditions in
 * MongoDB's bracket syntax (`find[date][$gte]=1700000000000`), which arrive as flat keys.
 */

export const NIGHTSCOUT_MAX_COUNT = 50_000

const digitsOnly = /^\d{1,12}$/
// Nightguard writes milliseconds as a decimal (`1700000000000.0`); Nightscout reads them with parseInt.
const millisText = /^\d{1,16}(?:\.\d*)?$/

const fromString = <A>(
  to: Schema.Codec<A>,
  description: string,
  decode: (text: string) => Option.Option<A>,
  expected: string
) =>
  Schema.String.annotate({ description }).pipe(
    Schema.decodeTo(
      to,
      SchemaTransformation.transformEffect({
        decode: (text, options) =>
          Option.match(decode(text), {
            onNone: () => Effect.fail(new SchemaIssue.InvalidValue({ message: `Expected ${expected}` }, text, options)),
            onSome: Effect.succeed
          }),
        encode: (value) => Effect.succeed(String(value))
      })
    )
  )

/** `count`: how many entries, newest first; 0 means as many as the service answers at most. */
export const NightscoutCount = fromString(
  Schema.Int,
  `How many entries (default 10; 0 or more than ${NIGHTSCOUT_MAX_COUNT} means ${NIGHTSCOUT_MAX_COUNT})`,
  (text) => (digitsOnly.test(text) ? Option.some(Math.min(Number(text), NIGHTSCOUT_MAX_COUNT)) : Option.none()),
  "a whole number of entries"
)

const instantMillis = (text: string): Option.Option<number> =>
  Option.map(parseNightscoutTime(text), (time) => time.epochMillis)

/** A bound on `date`: epoch milliseconds (a decimal part is ignored); an ISO time is read as that instant. */
export const NightscoutDateBound = fromString(
  Schema.Number,
  "Epoch milliseconds, e.g. 1700000000000",
  (text) => (millisText.test(text) ? Option.some(Math.floor(Number(text))) : instantMillis(text)),
  "epoch milliseconds"
)

/** A bound on `dateString`: compared as an instant (any ISO 8601 form, with or without a zone), not as text. */
export const NightscoutDateStringBound = fromString(
  Schema.Number,
  "An ISO 8601 time, e.g. 2026-11-27T15:44:00.000Z",
  instantMillis,
  "an ISO 8601 time such as 2026-11-27T15:44:00.000Z"
)

export const CredentialQuery = {
  token: Schema.optional(Schema.String).annotate({ description: "A read token (followers)" }),
  secret: Schema.optional(Schema.String).annotate({ description: "The SHA-1 hex of the API secret" })
}

const operators = ["$gt", "$gte", "$lt", "$lte", "$eq"] as const
export type NightscoutOperator = (typeof operators)[number] | "="

const conditions = <S extends Schema.Top>(field: string, bound: S) =>
  Object.fromEntries([
    [`find[${field}]`, Schema.optional(bound)],
    ...operators.map((operator) => [`find[${field}][${operator}]`, Schema.optional(bound)])
  ]) as Record<string, Schema.optional<S>>

export const EntriesQuery = {
  ...CredentialQuery,
  count: Schema.optional(NightscoutCount),
  ...conditions("date", NightscoutDateBound),
  ...conditions("dateString", NightscoutDateStringBound),
  "find[type]": Schema.optional(Schema.String).annotate({ description: "Only this type (sgv)" }),
  "find[type][$eq]": Schema.optional(Schema.String).annotate({ description: "Only this type (sgv)" })
}

export const PebbleQuery = {
  ...CredentialQuery,
  count: Schema.optional(NightscoutCount),
  units: Schema.optional(Schema.Literals(["mgdl", "mmol"])).annotate({ description: "mgdl (default) or mmol" })
}

/** The conditions of a decoded query on one field, as operator → value. */
export const conditionsOn = (
  query: Readonly<Record<string, unknown>>,
  field: "date" | "dateString"
): ReadonlyArray<readonly [NightscoutOperator, number]> => {
  const found: Array<readonly [NightscoutOperator, number]> = []
  const equal = query[`find[${field}]`]
  if (typeof equal === "number") found.push(["=", equal])
  for (const operator of operators) {
    const value = query[`find[${field}][${operator}]`]
    if (typeof value === "number") found.push([operator, value])
  }
  return found
}
