import {
  formatInstant,
  GlucoseMgDl,
  GlucoseStatus,
  ProviderId,
  type ReadingEvent,
  ReadingEventType,
  Trend,
  UserId
} from "@bg-ingest/domain"
import { DateTime, Effect, Option, Schema, SchemaIssue, SchemaTransformation } from "effect"

/**
 * An instant on the wire: RFC 3339 UTC with `Z` and no fractional seconds (`2025-04-26T14:30:00Z`), the one
 * time format of every bg-ingest contract. Decoding rejects anything else, including dates that do not exist.
 */
export const WireInstant = Schema.String.check(
  Schema.isPattern(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, {
    expected: "an RFC 3339 UTC instant in whole seconds, such as 2025-04-26T14:30:00Z"
  })
).pipe(
  Schema.decodeTo(
    Schema.DateTimeUtc,
    SchemaTransformation.transformEffect({
      decode: (text: string, options) =>
        Option.match(
          Option.filter(DateTime.make(text), (instant) => formatInstant(DateTime.toUtc(instant)) === text),
          {
            onNone: () =>
              Effect.fail(new SchemaIssue.InvalidValue({ expected: "an instant that exists" }, text, options)),
            onSome: (instant) => Effect.succeed(DateTime.toUtc(instant))
          }
        ),
      encode: (instant: DateTime.Utc) => Effect.succeed(formatInstant(instant))
    })
  )
)

/**
 * The body of a reading event as published (docs/events.md), snake_case. `event_id`, `type`, `occurred_at`, `user_id`,
 * `reading.timestamp`, `reading.glucose_mg_dl`, `reading.trend` and `source` are the contract; `trend_rate`,
 * `status` and `display_time` say what the provider said, null when it said nothing.
 */
export const ReadingEventBody = Schema.Struct({
  event_id: Schema.String.check(Schema.isNonEmpty()),
  type: ReadingEventType,
  occurred_at: WireInstant,
  user_id: UserId,
  reading: Schema.Struct({
    timestamp: WireInstant,
    glucose_mg_dl: GlucoseMgDl,
    trend: Trend,
    trend_rate: Schema.NullOr(Schema.Finite),
    status: GlucoseStatus,
    display_time: Schema.NullOr(Schema.String)
  }),
  source: Schema.Struct({
    provider: ProviderId,
    record_id: Schema.NullOr(Schema.String)
  })
})
export type ReadingEventBody = typeof ReadingEventBody.Type

/** The body as JSON text: what publishers encode and consumers decode. */
export const ReadingEventJson = Schema.fromJsonString(ReadingEventBody)

export const toReadingEventBody = (event: ReadingEvent): ReadingEventBody => {
  const { reading } = event
  return {
    event_id: event.eventId,
    type: event.type,
    occurred_at: event.occurredAt,
    user_id: reading.userId,
    reading: {
      timestamp: reading.timestamp,
      glucose_mg_dl: reading.glucoseMgDl,
      trend: reading.trend,
      trend_rate: reading.trendRate,
      status: reading.status,
      display_time: reading.displayTime
    },
    source: { provider: reading.source.provider, record_id: reading.source.recordId }
  }
}

/** Decodes a message body received from the broker; fails with a `SchemaError` naming what is wrong. */
export const decodeReadingEventBody = Schema.decodeUnknownEffect(ReadingEventJson)

/** The `app_id` property of every message bg-ingest publishes. */
export const EVENT_APP_ID = "bg-ingest"

/** The AMQP properties of one event's message (docs/events.md); `message_id` is the deterministic event id. */
export const messagePropertiesOf = (event: ReadingEvent) => ({
  messageId: event.eventId,
  type: event.type,
  contentType: "application/json",
  deliveryMode: 2,
  timestamp: Math.floor(DateTime.toEpochMillis(event.occurredAt) / 1000),
  appId: EVENT_APP_ID
})
