import { DateTime, Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"

// RFC 3339 date-time with a mandatory zone (Z or ±hh:mm); a time without a zone is ambiguous and refused.
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/

const expected = "an RFC 3339 time with a zone, such as 2025-04-26T14:30:00Z or 2025-04-26T16:30:00+02:00"

/** A query time: any RFC 3339 instant with a zone, decoded to UTC. */
export const Rfc3339Instant = Schema.String.annotate({
  description: `An RFC 3339 instant with a zone (Z or ±hh:mm), e.g. 2025-04-26T14:30:00Z`,
  format: "date-time"
}).pipe(
  Schema.decodeTo(
    Schema.DateTimeUtc,
    SchemaTransformation.transformEffect({
      decode: (text, options) => {
        const parsed = RFC3339.test(text) ? DateTime.make(text.replace(" ", "T")) : Option.none()
        return Option.isSome(parsed)
          ? Effect.succeed(DateTime.toUtc(parsed.value))
          : Effect.fail(new SchemaIssue.InvalidValue({ message: `Expected ${expected}` }, text, options))
      },
      encode: (instant) => Effect.succeed(DateTime.formatIso(instant))
    })
  )
)
