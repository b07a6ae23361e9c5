import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { ReadingJson } from "@bg-ingest/http"
import { assert, layer } from "@effect/vitest"
import { DateTime, Effect, Layer, Schema } from "effect"
import { manualClock } from "../support/clock.ts"
import { domainLayer } from "../support/domain.ts"
import { get, testServer } from "../support/server.ts"

const provider = ProviderId.make("test")
/** The server's clock stands here: "the last 24 hours" is the same whenever the test runs. */
const NOW = DateTime.makeUnsafe("2026-02-10T12:00:00Z")
// The newest reading is 2 minutes old; one every 5 minutes for 2 days.
const NEWEST = DateTime.subtract(NOW, { minutes: 2 })
const readings = Array.from({ length: 576 }, (_, index) =>
  makeReading({
    userId: UserId.make("u1"),
    timestamp: DateTime.subtract(NEWEST, { minutes: (575 - index) * 5 }),
    glucoseMgDl: 70 + (index % 150),
    trend: index % 2 === 0 ? "flat" : "fortyFiveUp",
    trendRate: index % 2 === 0 ? 0.2 : 1.4,
    source: { provider, recordId: `r${index}` }
  })
)
const iso = (instant: DateTime.Utc) => `${new Date(DateTime.toEpochMillis(instant)).toISOString().slice(0, 19)}Z`

const seeded = Layer.effectDiscard(Ingest.use((ingest) => ingest.ingest(UserId.make("u1"), readings))).pipe(
  Layer.provideMerge(domainLayer([]))
)

const isProblem = (answer: { status: number; contentType: string; body: any }, status: number) => {
  assert.strictEqual(answer.status, status)
  assert.strictEqual(answer.contentType, "application/problem+json")
  assert.strictEqual(answer.body.status, status)
  assert.isString(answer.body.title)
  assert.isString(answer.body.type)
}

/** A 400 problem that names the field. */
const isBadField = (answer: { status: number; contentType: string; body: any }, slot: string, field: string) => {
  isProblem(answer, 400)
  assert.include(answer.body.detail, field)
  assert.deepStrictEqual(answer.body.errors[0].path.slice(0, 2), [slot, field])
}

layer(testServer(seeded).pipe(Layer.provide(manualClock(NOW).layer)), { excludeTestServices: true })(
  "GET /api/bg/:userId/latest and ranges on a real server",
  (it) => {
    it.effect("latest answers the newest reading in the seed's shape", () =>
      Effect.gen(function* () {
        const answer = yield* get("/api/bg/u1/latest")
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(answer.contentType, "application/json")
        assert.deepStrictEqual(answer.body, {
          timestamp: iso(NEWEST),
          glucose_mg_dl: readings[575]!.glucoseMgDl,
          trend: "fortyFiveUp",
          trend_rate: 1.4,
          status: "ok",
          source: "test"
        })
        assert.match(answer.body.timestamp, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/)
      })
    )

    it.effect("latest is a 404 problem for a user without readings", () =>
      Effect.gen(function* () {
        const answer = yield* get("/api/bg/nobody/latest")
        isProblem(answer, 404)
        assert.strictEqual(answer.body.type, "urn:bg-ingest:problem:no-readings")
      })
    )

    it.effect("the default range is the last 24 hours, ascending, in the contract's shape", () =>
      Effect.gen(function* () {
        const answer = yield* get("/api/bg/u1")
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(answer.contentType, "application/json")
        // The handler serializes rows itself (no response encoding): they must still be what the schema describes.
        assert.deepStrictEqual(Schema.decodeUnknownSync(Schema.Array(ReadingJson))(answer.body), answer.body)
        assert.deepStrictEqual(answer.body[287], {
          timestamp: iso(NEWEST),
          glucose_mg_dl: readings[575]!.glucoseMgDl,
          trend: "fortyFiveUp",
          trend_rate: 1.4,
          status: "ok",
          source: "test"
        })
        const body = answer.body as Array<{ timestamp: string; glucose_mg_dl: number }>
        assert.strictEqual(body.length, 288)
        assert.strictEqual(body.at(-1)!.timestamp, iso(NEWEST))
        const times = body.map((reading) => Date.parse(reading.timestamp))
        assert.deepStrictEqual(
          times,
          [...times].sort((a, b) => a - b)
        )
        assert.isTrue(times.every((time, index) => index === 0 || time - times[index - 1]! === 300_000))
      })
    )

    it.effect("from is inclusive, to is exclusive, offsets are understood", () =>
      Effect.gen(function* () {
        const from = readings[100]!.timestamp
        const to = readings[110]!.timestamp
        const answer = yield* get(`/api/bg/u1?from=${iso(from)}&to=${iso(to)}`)
        assert.deepStrictEqual(
          (answer.body as Array<{ timestamp: string }>).map((reading) => reading.timestamp),
          readings.slice(100, 110).map((reading) => iso(reading.timestamp))
        )
        // The same instants written with a +02:00 offset and with fractional seconds.
        const plusTwo = (instant: DateTime.Utc) =>
          `${new Date(DateTime.toEpochMillis(instant) + 7_200_000).toISOString().slice(0, 19)}.000+02:00`
        const shifted = yield* get(
          `/api/bg/u1?from=${encodeURIComponent(plusTwo(from))}&to=${encodeURIComponent(plusTwo(to))}`
        )
        assert.deepStrictEqual(shifted.body, answer.body)
      })
    )

    it.effect("limit keeps the oldest readings of the window", () =>
      Effect.gen(function* () {
        const answer = yield* get(`/api/bg/u1?from=${iso(readings[0]!.timestamp)}&limit=3`)
        assert.deepStrictEqual(
          (answer.body as Array<{ timestamp: string }>).map((reading) => reading.timestamp),
          readings.slice(0, 3).map((reading) => iso(reading.timestamp))
        )
      })
    )

    it.effect("a window of exactly 90 days is allowed; an unknown user gets an empty array", () =>
      Effect.gen(function* () {
        const to = DateTime.add(NOW, { minutes: 1 })
        const from = DateTime.subtract(to, { days: 90 })
        const answer = yield* get(`/api/bg/u1?from=${iso(from)}&to=${iso(to)}`)
        assert.strictEqual(answer.status, 200)
        assert.strictEqual((answer.body as Array<unknown>).length, 576)
        const nobody = yield* get("/api/bg/nobody")
        assert.deepStrictEqual([nobody.status, nobody.body], [200, []])
      })
    )

    it.effect("bad user ids are 400 problems naming userId", () =>
      Effect.gen(function* () {
        for (const id of [
          "a%20b",
          "x".repeat(129),
          "caf%C3%A9",
          "a%2Fb",
          "%3Cscript%3E",
          "semi%3Bcolon",
          "semi;colon",
          "a%00"
        ]) {
          isBadField(yield* get(`/api/bg/${id}/latest`), "params", "userId")
          isBadField(yield* get(`/api/bg/${id}`), "params", "userId")
        }
        // The edges of what is allowed.
        assert.strictEqual((yield* get(`/api/bg/${"x".repeat(128)}`)).status, 200)
        assert.strictEqual((yield* get("/api/bg/a.b_c:d@e-f")).status, 200)
      })
    )

    it.effect("times without a zone, or not times at all, are 400 problems naming the field", () =>
      Effect.gen(function* () {
        for (const value of ["2026-01-01T00:00:00", "2026-01-01", "yesterday", "1767225600", "2026-13-01T00:00:00Z"]) {
          isBadField(yield* get(`/api/bg/u1?from=${encodeURIComponent(value)}`), "query", "from")
          isBadField(yield* get(`/api/bg/u1?to=${encodeURIComponent(value)}`), "query", "to")
        }
      })
    )

    it.effect("from after to, and windows over 90 days, are 400 problems", () =>
      Effect.gen(function* () {
        const after = yield* get("/api/bg/u1?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z")
        isBadField(after, "query", "from")
        assert.include(after.body.detail, "after")
        const long = yield* get("/api/bg/u1?from=2025-01-01T00:00:00Z&to=2025-04-01T00:00:01Z")
        isBadField(long, "query", "from")
        assert.include(long.body.detail, "90 days")
        const longDefault = yield* get("/api/bg/u1?from=2020-01-01T00:00:00Z")
        isBadField(longDefault, "query", "from")
      })
    )

    it.effect("a bad limit is a 400 problem naming limit", () =>
      Effect.gen(function* () {
        for (const value of ["0", "-1", "50001", "abc", "1.5", ""]) {
          isBadField(yield* get(`/api/bg/u1?limit=${value}`), "query", "limit")
        }
        assert.strictEqual((yield* get("/api/bg/u1?limit=50000")).status, 200)
      })
    )
  }
)
