import { Ingest, makeReading, makeWindow, ProviderId, summarize, TimeZoneName, UserId } from "@bg-ingest/domain"
import { SummaryJson } from "@bg-ingest/http"
import { REPORT_CSP, toSummaryJson } from "@bg-ingest/http/server"
import { assert, layer } from "@effect/vitest"
import { DateTime, Effect, Layer, Schema } from "effect"
import { domainLayer } from "../support/domain.ts"
import { at } from "../support/glucoseSeries.ts"
import { get, testServer } from "../support/server.ts"

const USER = UserId.make("alice")
const START = at("2025-03-24T00:00:00Z")
// Two weeks every 5 minutes across Berlin's change to summer time, with lows and highs.
const readings = Array.from({ length: 14 * 288 }, (_, index) =>
  makeReading({
    userId: USER,
    timestamp: DateTime.add(START, { minutes: index * 5 }),
    glucoseMgDl: Math.round(150 + 100 * Math.sin(index / 23) + 30 * Math.sin(index / 5)),
    source: { provider: ProviderId.make("test"), recordId: null }
  })
)
// A user whose readings reach up to 20 days back from now, one an hour, for the default window.
const NOW = DateTime.nowUnsafe()
const recent = Array.from({ length: 20 * 24 }, (_, index) =>
  makeReading({
    userId: UserId.make("bob"),
    timestamp: DateTime.subtract(NOW, { minutes: 30 + index * 60 }),
    glucoseMgDl: 120,
    source: { provider: ProviderId.make("test"), recordId: null }
  })
)

const seeded = Layer.effectDiscard(
  Effect.gen(function* () {
    const ingest = yield* Ingest
    yield* ingest.ingest(USER, readings)
    yield* ingest.ingest(UserId.make("bob"), recent)
  })
).pipe(Layer.provideMerge(domainLayer([])))

const expected = (from: string, to: string, zone: string) =>
  toSummaryJson(summarize(readings, makeWindow(at(from), at(to)), TimeZoneName.make(zone)))

const isBadQuery = (answer: { status: number; contentType: string; body: any }, field: string) => {
  assert.strictEqual(answer.status, 400)
  assert.strictEqual(answer.contentType, "application/problem+json")
  assert.include(answer.body.detail, field)
  assert.deepStrictEqual(answer.body.errors[0].path.slice(0, 2), ["query", field])
}

const query = "from=2025-03-24T00:00:00Z&to=2025-04-07T00:00:00Z"

layer(testServer(seeded), { excludeTestServices: true })("GET /api/bg/:userId/summary and /report", (it) => {
  it.effect("answers the consensus metrics in the contract's snake_case shape", () =>
    Effect.gen(function* () {
      const answer = yield* get(`/api/bg/alice/summary?${query}&tz=Europe/Berlin`)
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.contentType, "application/json")
      assert.deepStrictEqual(answer.body, expected("2025-03-24T00:00:00Z", "2025-04-07T00:00:00Z", "Europe/Berlin"))
      assert.deepStrictEqual(Object.keys(answer.body), [
        "from",
        "to",
        "tz",
        "readings",
        "active_percent",
        "mean_mg_dl",
        "sd_mg_dl",
        "cv_percent",
        "gmi_percent",
        "time_in_range",
        "hypoglycemia_events",
        "agp"
      ])
      assert.deepStrictEqual(Schema.decodeUnknownSync(SummaryJson)(answer.body), answer.body)
      assert.strictEqual(answer.body.from, "2025-03-24T00:00:00Z")
      assert.strictEqual(answer.body.tz, "Europe/Berlin")
      assert.strictEqual(answer.body.readings, 4032)
      assert.strictEqual(answer.body.active_percent, 100)
      assert.strictEqual(answer.body.agp.length, 96)
      assert.isAbove(answer.body.hypoglycemia_events.level_1, 0)
    })
  )

  it.effect("tz defaults to UTC and is answered as given; offsets in from/to are fine", () =>
    Effect.gen(function* () {
      const utc = yield* get(`/api/bg/alice/summary?${query}`)
      assert.deepStrictEqual(utc.body, expected("2025-03-24T00:00:00Z", "2025-04-07T00:00:00Z", "UTC"))
      const kolkata = yield* get(
        "/api/bg/alice/summary?from=2025-03-24T05:30:00%2B05:30&to=2025-03-31T05:30:00%2B05:30&tz=asia/kolkata"
      )
      assert.strictEqual(kolkata.status, 200)
      assert.deepStrictEqual(kolkata.body, expected("2025-03-24T00:00:00Z", "2025-03-31T00:00:00Z", "asia/kolkata"))
      assert.strictEqual(kolkata.body.tz, "asia/kolkata")
      assert.strictEqual(kolkata.body.agp[0].minute, 0)
    })
  )

  it.effect("an unknown zone, or an offset instead of a zone, is a 400 naming tz", () =>
    Effect.gen(function* () {
      for (const tz of ["Mars/Olympus", "%2B05:30", "Europe/Berlin%00", "", "a".repeat(65)]) {
        isBadQuery(yield* get(`/api/bg/alice/summary?${query}&tz=${tz}`), "tz")
        isBadQuery(yield* get(`/api/bg/alice/report?${query}&tz=${tz}`), "tz")
      }
    })
  )

  it.effect("from/to are checked like the range query's: a zone, in order, at most 90 days", () =>
    Effect.gen(function* () {
      isBadQuery(yield* get("/api/bg/alice/summary?from=2025-03-24T00:00:00"), "from")
      isBadQuery(yield* get("/api/bg/alice/summary?from=2025-04-07T00:00:00Z&to=2025-03-24T00:00:00Z"), "from")
      isBadQuery(yield* get("/api/bg/alice/summary?from=2025-01-01T00:00:00Z&to=2025-04-01T00:00:01Z"), "from")
      isBadQuery(yield* get("/api/bg/alice/report?from=2025-01-01T00:00:00Z&to=2025-04-01T00:00:01Z"), "from")
      const ninety = yield* get("/api/bg/alice/summary?from=2025-01-01T00:00:00Z&to=2025-04-01T00:00:00Z")
      assert.strictEqual(ninety.status, 200)
      assert.strictEqual(ninety.body.readings, 8 * 288)
    })
  )

  it.effect("the default window is the 14 days before now", () =>
    Effect.gen(function* () {
      const answer = yield* get("/api/bg/bob/summary")
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.body.readings, 14 * 24)
      const onlyTo = yield* get(`/api/bg/alice/summary?to=2025-04-07T00:00:00Z`)
      assert.strictEqual(onlyTo.body.from, "2025-03-24T00:00:00Z")
    })
  )

  it.effect("a user without readings in the window gets readings 0 and nulls", () =>
    Effect.gen(function* () {
      const answer = yield* get(`/api/bg/nobody/summary?${query}&tz=Europe/Berlin`)
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(answer.body, {
        from: "2025-03-24T00:00:00Z",
        to: "2025-04-07T00:00:00Z",
        tz: "Europe/Berlin",
        readings: 0,
        active_percent: null,
        mean_mg_dl: null,
        sd_mg_dl: null,
        cv_percent: null,
        gmi_percent: null,
        time_in_range: null,
        hypoglycemia_events: null,
        agp: null
      })
      const report = yield* get(`/api/bg/nobody/report?${query}`)
      assert.strictEqual(report.status, 200)
      assert.include(report.body, "No readings in this period.")
    })
  )

  it.effect("the report is one HTML page under a strict CSP, with the summary's numbers", () =>
    Effect.gen(function* () {
      const answer = yield* get(`/api/bg/alice/report?${query}&tz=Europe/Berlin`)
      assert.strictEqual(answer.status, 200)
      assert.strictEqual(answer.contentType, "text/html; charset=utf-8")
      assert.strictEqual(answer.headers["content-security-policy"], REPORT_CSP)
      assert.strictEqual(answer.headers["x-content-type-options"], "nosniff")
      const page: string = answer.body
      assert.match(page, /^<!doctype html>/)
      assert.notMatch(page, /<script|<link|<img|<iframe|@import|url\(|https?:\/\//i)
      const summary = expected("2025-03-24T00:00:00Z", "2025-04-07T00:00:00Z", "Europe/Berlin")
      const shown = Object.fromEntries(
        [...page.matchAll(/data-field="([a-z_.0-9]+)" data-value="([^"]*)"/g)].map((m) => [m[1]!, JSON.parse(m[2]!)])
      )
      assert.deepStrictEqual(shown, {
        readings: summary.readings,
        active_percent: summary.active_percent,
        mean_mg_dl: summary.mean_mg_dl,
        gmi_percent: summary.gmi_percent,
        cv_percent: summary.cv_percent,
        sd_mg_dl: summary.sd_mg_dl,
        "time_in_range.tight_target_percent": summary.time_in_range!.tight_target_percent,
        "hypoglycemia_events.level_1": summary.hypoglycemia_events!.level_1,
        "hypoglycemia_events.level_2": summary.hypoglycemia_events!.level_2
      })
      // 00:00Z to 00:00Z is 01:00 to 02:00 in Berlin: 15 local days, from 24 March to 7 April; 30 March has 23 hours.
      const days = [...page.matchAll(/<figure class="day" data-date="([0-9-]+)" data-readings="(\d+)"/g)]
      assert.strictEqual(days.length, 15)
      assert.deepStrictEqual([days[0]![1], days[14]![1]], ["2025-03-24", "2025-04-07"])
      assert.strictEqual(
        days.reduce((sum, day) => sum + Number(day[2]), 0),
        4032
      )
      assert.include(page, 'data-date="2025-03-30" data-readings="276"')
      assert.include(page, "Sun 30 Mar (23 h)")
      assert.strictEqual([...page.matchAll(/<rect class="bin"/g)].length, 96)
    })
  )
})
