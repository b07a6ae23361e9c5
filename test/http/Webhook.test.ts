import { createHmac } from "node:crypto"
import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { Ingest, makeWindow, ReadingStore, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import fc from "fast-check"
import { instant, manualClock } from "../support/clock.ts"
import { domainLayer } from "../support/domain.ts"
import { postRaw, TEST_WEBHOOK_SECRET, testServer } from "../support/server.ts"
import { webhookHeaders } from "../support/webhook.ts"

/**
 * The service's clock stands here, so a signature's age is exactly what a test makes it; the readings the tests
 * send are all before it (a reading from the future is refused).
 */
const NOW = instant("2026-06-01T12:00:00Z")
const nowSeconds = () => NOW / 1000

const core = domainLayer([])
const withServer = <A, E>(body: Effect.Effect<A, E, any>, secrets?: ReadonlyArray<string>) =>
  body.pipe(
    Effect.provide(testServer(core, secrets ? { secrets } : {}).pipe(Layer.provideMerge(core))),
    Effect.scoped,
    manualClock(NOW).provide
  )

const encoder = new TextEncoder()

/** Signs exactly the bytes sent, for the path of `userId`'s webhook: HMAC-SHA256 over `<timestamp>.<path>.<body>`. */
const signed = (
  userId: string,
  body: Uint8Array,
  options: { secret?: string; timestamp?: number; contentType?: string } = {}
) => webhookHeaders(`/api/bg/${userId}/webhook`, body, { timestamp: nowSeconds(), ...options })

/** The first version's signature, over `<timestamp>.<body>` only: no longer accepted. */
const signedWithoutPath = (body: Uint8Array) => {
  const timestamp = String(nowSeconds())
  const mac = createHmac("sha256", TEST_WEBHOOK_SECRET).update(`${timestamp}.`).update(body).digest("hex")
  return {
    "content-type": "application/json",
    "x-webhook-timestamp": timestamp,
    "x-webhook-signature": `sha256=${mac}`
  }
}

const readingsBody = (count: number, start = Date.UTC(2026, 1, 1, 8), value = (i: number) => 90 + (i % 100)) =>
  encoder.encode(
    JSON.stringify({
      readings: Array.from({ length: count }, (_, index) => ({
        timestamp: new Date(start + index * 300_000).toISOString().replace(".000", ""),
        glucose_mg_dl: value(index),
        trend: "flat",
        record_id: `r-${index}`
      }))
    })
  )

const stored = (userId: string) =>
  ReadingStore.use((store) =>
    store.range(UserId.make(userId), makeWindow(DateTime.makeUnsafe(0), DateTime.makeUnsafe(Date.UTC(2030, 0))), 50_000)
  )
const events = InMemoryEventLog.use((log) => log.events)

const deliver = (userId: string, body: Uint8Array, headers: Record<string, string>) =>
  postRaw(`/api/bg/${userId}/webhook`, body, headers)

const isProblem = (answer: { status: number; contentType: string; body: any }, status: number) => {
  assert.strictEqual(answer.status, status, JSON.stringify(answer.body))
  assert.strictEqual(answer.contentType, "application/problem+json")
}

describe("POST /api/bg/:userId/webhook", () => {
  it.live("a signed delivery is stored and published before the 202; the same delivery again changes nothing", () =>
    withServer(
      Effect.gen(function* () {
        const body = readingsBody(288)
        const first = yield* deliver("alice", body, signed("alice", body))
        assert.strictEqual(first.status, 202)
        assert.deepStrictEqual(first.body, { received: 288, inserted: 288, updated: 0, unchanged: 0 })
        assert.strictEqual((yield* stored("alice")).length, 288)
        assert.strictEqual((yield* events).length, 288)
        const [reading] = yield* stored("alice")
        assert.deepStrictEqual(
          [reading!.source.provider, reading!.source.recordId, reading!.trend],
          ["webhook", "r-0", "flat"]
        )

        const again = yield* deliver("alice", body, signed("alice", body))
        assert.deepStrictEqual(
          [again.status, again.body],
          [202, { received: 288, inserted: 0, updated: 0, unchanged: 288 }]
        )
        assert.strictEqual((yield* stored("alice")).length, 288)
        assert.strictEqual((yield* events).length, 288)

        const changed = readingsBody(2, Date.UTC(2026, 1, 1, 8), () => 150)
        const update = yield* deliver("alice", changed, signed("alice", changed))
        assert.deepStrictEqual(update.body, { received: 2, inserted: 0, updated: 2, unchanged: 0 })
        assert.deepStrictEqual(
          (yield* events).slice(-2).map((event) => event.type),
          ["bg.reading.updated", "bg.reading.updated"]
        )
      })
    )
  )

  it.live("signatures: missing, malformed, wrong, tampered, stale, future or replayed with another time are 401", () =>
    withServer(
      Effect.gen(function* () {
        const body = readingsBody(3)
        const good = signed("bob", body)
        const cases: Array<[string, Uint8Array, Record<string, string>]> = [
          ["no signature", body, { ...good, "x-webhook-signature": "" }],
          [
            "no timestamp",
            body,
            { "content-type": "application/json", "x-webhook-signature": good["x-webhook-signature"] }
          ],
          ["not hex", body, { ...good, "x-webhook-signature": "sha256=zz" }],
          [
            "another scheme",
            body,
            { ...good, "x-webhook-signature": good["x-webhook-signature"].replace("sha256", "sha1") }
          ],
          ["wrong secret", body, signed("bob", body, { secret: "some-other-secret-value" })],
          ["tampered body", readingsBody(3, Date.UTC(2026, 1, 1, 9)), good],
          ["stale", body, signed("bob", body, { timestamp: nowSeconds() - 301 })],
          ["future", body, signed("bob", body, { timestamp: nowSeconds() + 301 })],
          ["signed for another user", body, signed("alice", body)],
          ["signed the old way, without the path", body, signedWithoutPath(body)],
          [
            "timestamp not signed",
            body,
            { ...good, "x-webhook-timestamp": String(Number(good["x-webhook-timestamp"]) - 1) }
          ],
          ["timestamp not a number", body, { ...good, "x-webhook-timestamp": "yesterday" }]
        ]
        for (const [name, sent, headers] of cases) {
          const answer = yield* deliver("bob", sent, headers)
          isProblem(answer, 401)
          assert.strictEqual(answer.body.type, "urn:bg-ingest:problem:invalid-signature", name)
          assert.notInclude(JSON.stringify(answer.body), TEST_WEBHOOK_SECRET)
        }
        assert.strictEqual((yield* stored("bob")).length, 0)
        assert.strictEqual((yield* events).length, 0)
        // The edges of the window, on both sides.
        assert.strictEqual(
          (yield* deliver("bob", body, signed("bob", body, { timestamp: nowSeconds() - 300 }))).status,
          202
        )
        assert.strictEqual(
          (yield* deliver("bob", body, signed("bob", body, { timestamp: nowSeconds() + 300 }))).status,
          202
        )
        // The path is signed as sent, without the query.
        assert.strictEqual((yield* postRaw("/api/bg/bob/webhook?relay=1", body, signed("bob", body))).status, 202)
      })
    )
  )

  it.live("several secrets may be configured at once, so a secret can be rotated", () =>
    withServer(
      Effect.gen(function* () {
        const body = readingsBody(1)
        assert.strictEqual(
          (yield* deliver("carol", body, signed("carol", body, { secret: "old-secret-0123456789" }))).status,
          202
        )
        assert.strictEqual(
          (yield* deliver("carol", body, signed("carol", body, { secret: "new-secret-0123456789" }))).status,
          202
        )
        isProblem(yield* deliver("carol", body, signed("carol", body, { secret: "retired-secret-01234" })), 401)
      }),
      ["old-secret-0123456789", "new-secret-0123456789"]
    )
  )

  it.live("bad readings are 400 problems naming the reading and the field, and nothing of the batch is stored", () =>
    withServer(
      Effect.gen(function* () {
        const base = { timestamp: "2026-02-01T08:00:00Z", glucose_mg_dl: 100 }
        const cases: Array<[string, unknown, Array<string | number>]> = [
          ["a time without a zone", { ...base, timestamp: "2026-02-01T08:00:00" }, ["timestamp"]],
          ["not a time", { ...base, timestamp: "soon" }, ["timestamp"]],
          ["a fraction of mg/dL", { ...base, glucose_mg_dl: 100.5 }, ["glucose_mg_dl"]],
          ["mmol/L sent as mg/dL", { ...base, glucose_mg_dl: 6 }, ["glucose_mg_dl"]],
          ["out of range", { ...base, glucose_mg_dl: 1000 }, ["glucose_mg_dl"]],
          ["a string value", { ...base, glucose_mg_dl: "100" }, ["glucose_mg_dl"]],
          ["an unknown trend", { ...base, trend: "up" }, ["trend"]],
          ["no value", { timestamp: base.timestamp }, ["glucose_mg_dl"]]
        ]
        for (const [name, bad, field] of cases) {
          const readings = [base, { ...base, timestamp: "2026-02-01T08:05:00Z" }, bad]
          const body = encoder.encode(JSON.stringify({ readings }))
          const answer = yield* deliver("dave", body, signed("dave", body))
          isProblem(answer, 400)
          assert.deepStrictEqual(answer.body.errors[0].path, ["payload", "readings", 2, ...field], name)
          assert.include(answer.body.detail, `readings[2].${field[0]}`, name)
        }
        for (const [name, raw, detail] of [
          ["not JSON", "{readings: [", "JSON"],
          ["no readings", "{}", "readings"],
          ["readings not a list", '{"readings": 5}', "readings"]
        ] as const) {
          const body = encoder.encode(raw)
          const answer = yield* deliver("dave", body, signed("dave", body))
          isProblem(answer, 400)
          assert.include(answer.body.detail, detail, name)
        }
        assert.strictEqual((yield* stored("dave")).length, 0)
      })
    )
  )

  it.live("a non-JSON media type is 415; more than 1 MiB or 10,000 readings is 413", () =>
    withServer(
      Effect.gen(function* () {
        const body = readingsBody(2)
        isProblem(yield* deliver("erin", body, signed("erin", body, { contentType: "text/plain" })), 415)
        assert.strictEqual(
          (yield* deliver("erin", body, signed("erin", body, { contentType: "application/json; charset=utf-8" })))
            .status,
          202
        )

        const huge = encoder.encode(JSON.stringify({ readings: [], padding: "x".repeat(1024 * 1024) }))
        isProblem(yield* deliver("erin", huge, signed("erin", huge)), 413)
        const many = readingsBody(10_001)
        assert.isBelow(many.length, 1024 * 1024)
        isProblem(yield* deliver("erin", many, signed("erin", many)), 413)
        const most = readingsBody(10_000)
        assert.strictEqual((yield* deliver("erin", most, signed("erin", most))).status, 202)
      })
    )
  )

  it.live("when the broker fails the answer is 503; the retry stores nothing twice, the sweep publishes the rest", () =>
    withServer(
      Effect.gen(function* () {
        const body = readingsBody(20)
        yield* InMemoryEventLog.use((log) => log.failNext(1))
        const failed = yield* deliver("frank", body, signed("frank", body))
        isProblem(failed, 503)
        assert.strictEqual(failed.body.dependency, "broker")
        assert.strictEqual((yield* events).length, 0)
        const retry = yield* deliver("frank", body, signed("frank", body))
        assert.strictEqual(retry.status, 202)
        assert.strictEqual((yield* stored("frank")).length, 20)
        // The retry changed nothing; the events the failed attempt owes are the scheduler's sweep's.
        assert.strictEqual(yield* Ingest.use((ingest) => ingest.republishUnconfirmed(100)), 20)
        const published = (yield* events).map((event) => DateTime.toEpochMillis(event.reading.timestamp))
        assert.strictEqual(new Set(published).size, 20)
      })
    )
  )

  it.live("concurrent deliveries for the same user are safe: each reading inserted exactly once", () =>
    withServer(
      Effect.gen(function* () {
        const bodies = Array.from({ length: 8 }, (_, index) =>
          readingsBody(100, Date.UTC(2026, 1, 1, 8) + index * 25 * 300_000)
        )
        const answers = yield* Effect.forEach(bodies, (body) => deliver("grace", body, signed("grace", body)), {
          concurrency: "unbounded"
        })
        assert.isTrue(answers.every((answer) => answer.status === 202))
        const inserted = answers.reduce((sum, answer) => sum + answer.body.inserted, 0)
        const distinct = 7 * 25 + 100
        assert.strictEqual(inserted, distinct)
        assert.strictEqual((yield* stored("grace")).length, distinct)
      })
    )
  )

  it.live("property: exactly the untampered deliveries are accepted", () =>
    withServer(
      Effect.gen(function* () {
        const reading = fc.record({
          minute: fc.integer({ min: 0, max: 100_000 }),
          glucose_mg_dl: fc.integer({ min: 20, max: 600 }),
          trend: fc.constantFrom("flat", "singleUp", "doubleDown", "notComputable")
        })
        const samples = fc.sample(
          fc.record({
            readings: fc.array(reading, { minLength: 1, maxLength: 20 }),
            tamper: fc.option(fc.record({ at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }), { nil: undefined })
          }),
          { numRuns: 60, seed: 20261127 }
        )
        let accepted = 0
        let rejected = 0
        for (const [index, sample] of samples.entries()) {
          const body = encoder.encode(
            JSON.stringify({
              readings: sample.readings.map((r) => ({
                timestamp: new Date(Date.UTC(2026, 0, 1) + r.minute * 60_000).toISOString(),
                glucose_mg_dl: r.glucose_mg_dl,
                trend: r.trend
              }))
            })
          )
          const headers = signed(`prop-${index}`, body)
          const sent = body.slice()
          if (sample.tamper !== undefined) {
            const at = sample.tamper.at % sent.length
            sent[at] = sent[at]! ^ (1 << sample.tamper.bit)
          }
          const answer = yield* deliver(`prop-${index}`, sent, headers)
          if (sample.tamper === undefined) {
            assert.strictEqual(answer.status, 202)
            accepted += 1
          } else {
            assert.strictEqual(answer.status, 401)
            assert.strictEqual((yield* stored(`prop-${index}`)).length, 0)
            rejected += 1
          }
        }
        // Both kinds were tried (the sample is fixed by its seed).
        const untampered = samples.filter((sample) => sample.tamper === undefined).length
        assert.deepStrictEqual([accepted, rejected], [untampered, samples.length - untampered])
        assert.isTrue(untampered > 0 && untampered < samples.length)
      })
    )
  )
})
