import {
  decodeReadingEventBody,
  messagePropertiesOf,
  ReadingEventJson,
  toReadingEventBody
} from "@bg-ingest/adapters/rabbitmq"
import { makeReadingEvent } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Schema } from "effect"
import { reading, T0 } from "../../support/fixtures.ts"

const encode = Schema.encodeSync(ReadingEventJson)

const event = makeReadingEvent(
  {
    kind: "updated",
    reading: reading("u1", 30, 123, {
      trend: "fortyFiveUp",
      trendRate: 1.4,
      status: "ok",
      displayTime: "2026-02-01T00:30:00-08:00"
    })
  },
  DateTime.makeUnsafe("2026-02-01T08:35:02.789Z")
)

describe("ReadingEventMessage", () => {
  it("encodes the documented body (docs/events.md): snake_case, whole-second UTC instants with Z", () => {
    assert.deepStrictEqual(JSON.parse(encode(toReadingEventBody(event))), {
      event_id: event.eventId,
      type: "bg.reading.updated",
      occurred_at: "2026-02-01T08:35:02Z",
      user_id: "u1",
      reading: {
        timestamp: "2026-02-01T08:30:00Z",
        glucose_mg_dl: 123,
        trend: "fortyFiveUp",
        trend_rate: 1.4,
        status: "ok",
        display_time: "2026-02-01T00:30:00-08:00"
      },
      source: { provider: "test", record_id: "rec-u1-30" }
    })
  })

  it("gives null for what the provider did not say", () => {
    const bare = makeReadingEvent(
      {
        kind: "created",
        reading: reading("u2", 0, 40, { trendRate: null, source: { provider: "test" as never, recordId: null } })
      },
      T0
    )
    const body = JSON.parse(encode(toReadingEventBody(bare)))
    assert.strictEqual(body.reading.trend_rate, null)
    assert.strictEqual(body.reading.display_time, null)
    assert.strictEqual(body.source.record_id, null)
  })

  it.effect("decodes what it encodes", () =>
    Effect.gen(function* () {
      const decoded = yield* decodeReadingEventBody(encode(toReadingEventBody(event)))
      assert.strictEqual(decoded.event_id, event.eventId)
      assert.strictEqual(DateTime.toEpochMillis(decoded.occurred_at), Date.parse("2026-02-01T08:35:02Z"))
      assert.strictEqual(
        DateTime.toEpochMillis(decoded.reading.timestamp),
        DateTime.toEpochMillis(event.reading.timestamp)
      )
      assert.strictEqual(decoded.reading.glucose_mg_dl, 123)
    })
  )

  interface Json {
    occurred_at: string
    type: string
    user_id: string
    reading: { timestamp: string; glucose_mg_dl?: number }
  }
  const body = (patch: (json: Json) => void) => {
    const json: Json = JSON.parse(encode(toReadingEventBody(event)))
    patch(json)
    return JSON.stringify(json)
  }

  it.effect.each([
    [
      "fractional seconds",
      (json: Json) => {
        json.occurred_at = "2026-02-01T08:35:02.789Z"
      }
    ],
    [
      "an offset instead of Z",
      (json: Json) => {
        json.reading.timestamp = "2026-02-01T09:30:00+01:00"
      }
    ],
    [
      "a day that does not exist",
      (json: Json) => {
        json.reading.timestamp = "2026-02-30T08:30:00Z"
      }
    ],
    [
      "a missing reading value",
      (json: Json) => {
        delete json.reading.glucose_mg_dl
      }
    ],
    [
      "an unknown event type",
      (json: Json) => {
        json.type = "bg.reading.deleted"
      }
    ],
    [
      "a bad user id",
      (json: Json) => {
        json.user_id = "u 1"
      }
    ]
  ] as const)("rejects %s", ([, patch]) =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(decodeReadingEventBody(body(patch)))
      assert.strictEqual(error._tag, "SchemaError")
    })
  )

  it("carries the event id, type and time in the AMQP properties", () => {
    assert.deepStrictEqual(messagePropertiesOf(event), {
      messageId: event.eventId,
      type: "bg.reading.updated",
      contentType: "application/json",
      deliveryMode: 2,
      timestamp: Math.floor(Date.parse("2026-02-01T08:35:02Z") / 1000),
      appId: "bg-ingest"
    })
  })
})
