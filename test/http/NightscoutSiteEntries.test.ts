import { gzipSync } from "node:zlib"
import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { Ingest } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { fiveMinutesAgo, openSite, type SiteCredentials, storedReadings, upload } from "../support/nightscout.ts"
import { get, postRaw, testServer } from "../support/server.ts"

const core = domainLayer([])
const withSite = <A, E>(body: (site: SiteCredentials) => Effect.Effect<A, E, any>) =>
  Effect.flatMap(openSite("alice"), body).pipe(
    Effect.provide(testServer(core).pipe(Layer.provideMerge(core))),
    Effect.scoped
  )

const events = InMemoryEventLog.use((log) => log.events)
const directions = ["DoubleUp", "SingleUp", "FortyFiveUp", "Flat", "FortyFiveDown", "SingleDown", "DoubleDown"]

/** A day of entries as share2nightscout-bridge writes them: date, UTC dateString, direction and trend, device. */
const bridgeEntries = (count: number, value = (i: number) => 80 + ((i * 7) % 200)) =>
  Array.from({ length: count }, (_, index) => {
    const date = fiveMinutesAgo(count - index)
    return {
      sgv: value(index),
      date,
      dateString: new Date(date).toISOString(),
      trend: (index % 7) + 1,
      direction: directions[index % 7],
      device: "share2",
      type: "sgv"
    }
  })

const sgvs = (answer: { body: ReadonlyArray<{ sgv: number }> }) => answer.body.map((entry) => entry.sgv)

describe("Nightscout site entries", () => {
  it.live("an upload is stored and evented before the 200, which answers the entries; again changes nothing", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const entries = bridgeEntries(288)
        const answer = yield* upload("/ns/alice/api/v1/entries.json", entries, site.secretHeader)
        assert.strictEqual(answer.status, 200)
        assert.strictEqual(answer.body.length, 288)
        assert.match(answer.body[0]._id, /^[0-9a-f]{24}$/)
        const stored = yield* storedReadings("alice")
        assert.strictEqual(stored.length, 288)
        for (const [index, reading] of stored.entries()) {
          const sent = entries[index]!
          assert.deepStrictEqual(
            [
              DateTime.toEpochMillis(reading.timestamp),
              reading.glucoseMgDl,
              reading.trend,
              reading.source.provider,
              reading.source.recordId
            ],
            [sent.date, sent.sgv, reading.trend, "nightscout-upload", "share2"]
          )
          assert.strictEqual(answer.body[index].sgv, sent.sgv)
          assert.strictEqual(answer.body[index].direction, sent.direction)
        }
        assert.strictEqual((yield* events).length, 288)

        const again = yield* upload("/ns/alice/api/v1/entries.json", entries, site.secretHeader)
        assert.strictEqual(again.status, 200)
        assert.strictEqual((yield* events).length, 288)
        const changed = yield* upload("/api/v1/entries", bridgeEntries(288, () => 150).slice(-2), site.secretHeader)
        assert.strictEqual(changed.status, 200)
        assert.deepStrictEqual(
          (yield* events).slice(288).map((event) => [event.type, event.reading.glucoseMgDl]),
          [
            ["bg.reading.updated", 150],
            ["bg.reading.updated", 150]
          ]
        )
      })
    )
  )

  it.live("xDrip+'s uploads: local times with an offset, gzip, mixed with mbg and cal; one object; error codes", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const at = fiveMinutesAgo(3)
        const local = new Date(at + 3_600_000).toISOString().replace("Z", "+0100")
        const batch = [
          { type: "sgv", sgv: 140, dateString: local, sysTime: local, direction: "SingleUp", device: "xDrip-DexcomG6" },
          { type: "mbg", mbg: 135, date: at, dateString: local, device: "xDrip-DexcomG6" },
          { type: "cal", slope: 850, intercept: 30000, scale: 1, date: at },
          { type: "sgv", sgv: 5, date: fiveMinutesAgo(2), device: "xDrip-DexcomG6" }
        ]
        const zipped = gzipSync(JSON.stringify(batch))
        const answer = yield* postRaw("/ns/alice/api/v1/entries", zipped, {
          "content-type": "application/json",
          "content-encoding": "gzip",
          ...site.secretHeader
        })
        assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
        assert.deepStrictEqual(
          answer.body.map((e: { sgv: number; date: number; utcOffset: number; device: string }) => [
            e.sgv,
            e.date,
            e.utcOffset,
            e.device
          ]),
          [[140, at, 60, "xDrip-DexcomG6"]]
        )
        const single = yield* upload(
          "/ns/alice/api/v1/entries",
          { type: "sgv", sgv: 151, date: fiveMinutesAgo(1), trend: 3 },
          site.secretHeader
        )
        assert.deepStrictEqual([single.status, sgvs(single), single.body[0].direction], [200, [151], "FortyFiveUp"])
        assert.deepStrictEqual(
          (yield* storedReadings("alice")).map((r) => [r.glucoseMgDl, r.trend, r.displayTime]),
          [
            [140, "singleUp", local],
            [151, "fortyFiveUp", null]
          ]
        )
        assert.deepStrictEqual([(yield* upload("/ns/alice/api/v1/entries", [], site.secretHeader)).body], [[]])
      })
    )
  )

  it.live("bad uploads get Nightscout-shaped 4xx naming the entry and field, and store nothing", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const post = (body: Uint8Array | unknown, headers: Record<string, string> = {}) =>
          Effect.map(
            body instanceof Uint8Array
              ? postRaw("/ns/alice/api/v1/entries.json", body, {
                  "content-type": "application/json",
                  ...site.secretHeader,
                  ...headers
                })
              : upload("/ns/alice/api/v1/entries.json", body, { ...site.secretHeader, ...headers }),
            (answer) => answer
          )
        const good = bridgeEntries(3)
        const tooHigh = yield* post([...good, { ...good[0], sgv: 700, date: fiveMinutesAgo(10) }])
        assert.strictEqual(tooHigh.status, 400)
        assert.deepStrictEqual(
          [tooHigh.body.status, tooHigh.body.message, tooHigh.body.errors[0].path],
          [400, "Bad Request", [3, "sgv"]]
        )
        const future = yield* post([{ type: "sgv", sgv: 100, date: Date.now() + 3_600_000 }])
        assert.deepStrictEqual([future.status, future.body.errors[0].path], [400, [0, "date"]])
        const undated = yield* post([
          { type: "sgv", sgv: 100 },
          { type: "sgv", sgv: 101, dateString: "soon" }
        ])
        assert.deepStrictEqual(
          undated.body.errors.map((error: { path: unknown }) => error.path),
          [
            [0, "date"],
            [1, "dateString"]
          ]
        )
        const notJson = yield* post(new TextEncoder().encode("[{"))
        assert.deepStrictEqual([notJson.status, notJson.body.description], [400, "The body is not valid JSON"])
        assert.strictEqual((yield* post(new TextEncoder().encode("42"))).status, 400)
        assert.strictEqual(
          (yield* post(new TextEncoder().encode("<xml/>"), { "content-type": "text/xml" })).status,
          415
        )
        assert.strictEqual((yield* post(new TextEncoder().encode("[]"), { "content-encoding": "br" })).status, 415)
        assert.strictEqual(
          (yield* post(new TextEncoder().encode("not gzip"), { "content-encoding": "gzip" })).status,
          400
        )
        const huge = gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x20))
        assert.strictEqual((yield* post(huge, { "content-encoding": "gzip" })).status, 413)
        const many = Array.from({ length: 20_001 }, () => ({ type: "mbg" }))
        assert.strictEqual((yield* post(many)).status, 413)
        assert.deepStrictEqual(yield* storedReadings("alice"), [])
        assert.deepStrictEqual(yield* events, [])
      })
    )
  )

  it.live("a broker outage answers 503 so the uploader sends again; the sweep publishes what was owed, once", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const entries = bridgeEntries(12)
        yield* InMemoryEventLog.use((log) => log.failNext(1))
        const down = yield* upload("/ns/alice/api/v1/entries.json", entries, site.secretHeader)
        assert.deepStrictEqual([down.status, down.body.status, down.body.message], [503, 503, "Service Unavailable"])
        const retried = yield* upload("/ns/alice/api/v1/entries.json", entries, site.secretHeader)
        assert.strictEqual(retried.status, 200)
        // The retry stored nothing new: the events the failed attempt owes are the scheduler's sweep's.
        assert.strictEqual(yield* Ingest.use((ingest) => ingest.republishUnconfirmed(100)), 12)
        assert.strictEqual((yield* events).length, 12)
      })
    )
  )

  it.live("reads: newest first, count (default 10, 0 for all), date bounds in every form, types, current, by id", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const entries = bridgeEntries(40)
        yield* upload("/ns/alice/api/v1/entries.json", entries, site.secretHeader)
        const read = (query: string, path = "entries.json") =>
          get(`/ns/alice/api/v1/${path}?token=${site.readToken}${query}`)
        const newest = entries.map((entry) => entry.sgv).reverse()
        assert.deepStrictEqual(sgvs(yield* read("")), newest.slice(0, 10))
        assert.deepStrictEqual(sgvs(yield* read("&count=3")), newest.slice(0, 3))
        assert.deepStrictEqual(sgvs(yield* read("&count=0")), newest)
        assert.deepStrictEqual(sgvs(yield* read("&count=100000")), newest)
        const from = entries[30]!.date
        const until = entries[35]!.date
        const expected = newest.slice(5, 10)
        for (const query of [
          `&find[date][$gte]=${from}&find[date][$lt]=${until}&count=100`,
          `&find%5Bdate%5D%5B%24gte%5D=${from}&find%5Bdate%5D%5B%24lte%5D=${until - 1}&count=100`,
          `&find[date][$gt]=${from - 1}.0&find[date][$lte]=${until - 1}.0&count=100`,
          `&find[dateString][$gte]=${new Date(from).toISOString().replace(".000", "")}&find[dateString][$lt]=${new Date(until).toISOString()}&count=100`,
          `&find[dateString][$gte]=${encodeURIComponent(new Date(from + 3_600_000).toISOString().replace("Z", "+01:00"))}&find[date][$lt]=${until}&count=100`
        ]) {
          assert.deepStrictEqual(sgvs(yield* read(query)), expected, query)
        }
        assert.deepStrictEqual(sgvs(yield* read(`&find[date]=${from}`)), [entries[30]!.sgv])
        assert.deepStrictEqual(sgvs(yield* read("&find[type]=sgv&count=1")), newest.slice(0, 1))
        assert.deepStrictEqual(sgvs(yield* read("&find[type][$eq]=mbg")), [])
        assert.deepStrictEqual(sgvs(yield* read("&count=2", "entries/sgv.json")), newest.slice(0, 2))
        assert.deepStrictEqual(sgvs(yield* read("", "entries/mbg.json")), [])
        assert.deepStrictEqual(sgvs(yield* read("&count=5", "entries/current.json")), newest.slice(0, 1))
        const current = (yield* read("", "entries/current.json")).body[0]
        const byId = yield* read("", `entries/${current._id}.json`)
        assert.deepStrictEqual(byId.body, [current])
        assert.deepStrictEqual(
          Object.keys(current).sort(),
          ["_id", "date", "dateString", "device", "direction", "sgv", "sysTime", "trend", "type", "utcOffset"].sort()
        )
        assert.deepStrictEqual(
          [current.type, current.dateString, current.sysTime, current.device, current.trend],
          [
            "sgv",
            new Date(entries[39]!.date).toISOString(),
            new Date(entries[39]!.date).toISOString(),
            "share2",
            entries[39]!.trend
          ]
        )
        for (const bad of ["&count=-1", "&count=ten", "&find[date][$gte]=yesterday", "&find[dateString][$lt]=soon"]) {
          const answer = yield* read(bad)
          assert.deepStrictEqual([answer.status, answer.body.status], [400, 400], bad)
        }
      })
    )
  )

  it.live("without a date bound only the last 4 days are answered, as Nightscout does", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const old = fiveMinutesAgo(5 * 288)
        yield* upload(
          "/ns/alice/api/v1/entries",
          [
            { type: "sgv", sgv: 99, date: old },
            { type: "sgv", sgv: 120, date: fiveMinutesAgo(1) }
          ],
          site.secretHeader
        )
        const recent = yield* get(`/ns/alice/api/v1/entries.json?count=0&token=${site.readToken}`)
        assert.deepStrictEqual(sgvs(recent), [120])
        const bounded = yield* get(`/ns/alice/api/v1/entries.json?find[date][$gte]=${old}&token=${site.readToken}`)
        assert.deepStrictEqual(sgvs(bounded), [120, 99])
      })
    )
  )

  it.live("formats: an extension decides; without one, Accept does, text first as Nightscout", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const entries = bridgeEntries(2)
        yield* upload("/ns/alice/api/v1/entries.json", entries, site.secretHeader)
        const line = (entry: (typeof entries)[number], separator: string) =>
          [JSON.stringify(entry.dateString), entry.date, entry.sgv, JSON.stringify(entry.direction), '"share2"'].join(
            separator
          )
        const text = `${line(entries[1]!, "\t")}\r\n${line(entries[0]!, "\t")}`
        const read = (path: string, accept?: string) =>
          Effect.map(
            get(`/ns/alice/api/v1/${path}?token=${site.readToken}`, accept === undefined ? {} : { accept }),
            (answer) => [answer.contentType.split(";")[0], typeof answer.body === "string" ? answer.body : "json"]
          )
        assert.deepStrictEqual(yield* read("entries"), ["text/plain", text])
        assert.deepStrictEqual(yield* read("entries", "*/*"), ["text/plain", text])
        assert.deepStrictEqual(yield* read("entries", "application/json, text/plain, */*"), [
          "application/json",
          "json"
        ])
        assert.deepStrictEqual(yield* read("entries", "application/json"), ["application/json", "json"])
        assert.deepStrictEqual(yield* read("entries", "text/plain;q=0, */*"), ["text/tab-separated-values", text])
        assert.deepStrictEqual(yield* read("entries/current"), ["text/plain", line(entries[1]!, "\t")])
        assert.deepStrictEqual(yield* read("entries/sgv.txt", "application/json"), ["text/plain", text])
        assert.deepStrictEqual(yield* read("entries/sgv.csv"), [
          "text/csv",
          `${line(entries[1]!, ",")}\r\n${line(entries[0]!, ",")}`
        ])
        assert.deepStrictEqual(yield* read("entries.json", "text/plain"), ["application/json", "json"])
      })
    )
  )
})
