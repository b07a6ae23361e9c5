import { join } from "node:path"
import { InMemoryEventLog } from "@bg-ingest/adapters/memory"
import { makeSimulatorProvider, SIMULATOR_PROVIDER_ID } from "@bg-ingest/adapters/simulator"
import { SqliteDatabase, SqliteReadingStore } from "@bg-ingest/adapters/sqlite"
import {
  ConnectionStore,
  makeReading,
  newConnection,
  ProviderId,
  ReadingStore,
  Scheduler,
  UserId
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Duration, Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { seriesValue } from "../support/metrics.ts"
import { get, postRaw, testServer } from "../support/server.ts"
import { scratchDirectory } from "../support/sqlite.ts"
import { webhookHeaders } from "../support/webhook.ts"

const encoder = new TextEncoder()
const MINUTE = 60_000

const withServer = <A, E>(body: Effect.Effect<A, E, any>, core = domainLayer([makeSimulatorProvider()])) =>
  body.pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped)

const deliver = (userId: string, json: unknown) => {
  const body = encoder.encode(JSON.stringify(json))
  const path = `/api/bg/${userId}/webhook`
  return postRaw(path, body, webhookHeaders(path, body))
}

const oneReading = (timestamp: string) => ({ readings: [{ timestamp, glucose_mg_dl: 110, trend: "flat" }] })

/** A 400 problem whose first error names `path`. */
const namesField = (answer: { status: number; body: any }, path: ReadonlyArray<string | number>, text: string) => {
  assert.strictEqual(answer.status, 400, `${text}: ${JSON.stringify(answer.body)}`)
  assert.deepStrictEqual(answer.body.errors[0].path, path, text)
}

const isoSeconds = (epochMillis: number) => `${new Date(epochMillis).toISOString().slice(0, 19)}Z`

describe("instants that are not real times of 1970–9999, or are far in the future, are refused", () => {
  it.live("webhook: a 400 naming the reading's timestamp, nothing stored, nothing published", () =>
    withServer(
      Effect.gen(function* () {
        const now = Date.now()
        const refused = [
          "9999-12-31T23:59:59-23:59", // year 10000 once the offset is applied
          "0000-01-01T00:00:00+01:00", // year -1 once the offset is applied
          "1969-12-31T23:59:59Z",
          "2026-02-30T12:00:00Z", // was stored as 2 March
          "2026-02-29T12:00:00Z",
          "2026-04-31T12:00:00Z",
          "2026-01-01T24:00:00Z", // was rolled to the next day
          "2016-12-31T23:59:60Z",
          "2026-01-01T12:00:00+24:00",
          "2099-01-01T00:00:00Z", // would pin /latest forever
          isoSeconds(now + 11 * MINUTE)
        ]
        for (const timestamp of refused) {
          namesField(
            yield* deliver("poison", oneReading(timestamp)),
            ["payload", "readings", 0, "timestamp"],
            timestamp
          )
        }
        const second = yield* deliver("poison", {
          readings: [
            { timestamp: isoSeconds(now - MINUTE), glucose_mg_dl: 100 },
            { timestamp: "2099-12-31T00:00:00Z", glucose_mg_dl: 100 }
          ]
        })
        namesField(second, ["payload", "readings", 1, "timestamp"], "the second reading")
        assert.include(second.body.detail, "readings[1].timestamp")
        assert.strictEqual((yield* get("/api/bg/poison/latest")).status, 404)
        assert.strictEqual((yield* InMemoryEventLog.use((log) => log.events)).length, 0)

        // A device clock a few minutes ahead is fine.
        const ahead = yield* deliver("poison", oneReading(isoSeconds(now + 9 * MINUTE)))
        assert.strictEqual(ahead.status, 202, JSON.stringify(ahead.body))
        const leap = yield* deliver("poison", oneReading("2024-02-29T23:30:00-01:00"))
        assert.strictEqual(leap.status, 202, JSON.stringify(leap.body))
        const stored = yield* get("/api/bg/poison?from=2024-03-01T00:00:00Z&to=2024-03-01T01:00:00Z")
        assert.deepStrictEqual(
          stored.body.map((reading: { timestamp: string }) => reading.timestamp),
          ["2024-03-01T00:30:00Z"]
        )
      })
    )
  )

  it.live("webhook, Dexcom EGV body: a 400 naming the record's systemTime", () =>
    Effect.gen(function* () {
      const { dexcomWebhookFormat } = yield* Effect.promise(() => import("@bg-ingest/adapters/dexcom"))
      const core = domainLayer([])
      const body = encoder.encode(
        JSON.stringify({
          records: [
            { systemTime: isoSeconds(Date.now() - MINUTE), value: 100, unit: "mg/dL" },
            { systemTime: "9999-12-31T23:59:59-23:59", value: 100, unit: "mg/dL" }
          ]
        })
      )
      const path = "/api/bg/relay/webhook"
      const answer = yield* postRaw(path, body, webhookHeaders(path, body)).pipe(
        Effect.provide(testServer(core, { formats: [dexcomWebhookFormat] }).pipe(Layer.provideMerge(core))),
        Effect.scoped
      )
      namesField(answer, ["payload", "records", 1, "systemTime"], "Dexcom systemTime")
    })
  )

  it.live("query parameters: a 400 naming from or to, never a 503", () =>
    withServer(
      Effect.gen(function* () {
        const cases: Array<[string, string]> = [
          ["to", "9999-12-31T23:59:59-23:59"],
          ["to", "+010000-01-01T00:00:00Z"],
          ["from", "0000-01-01T00:00:00+01:00"],
          ["from", "2026-02-30T00:00:00Z"],
          ["to", "2026-01-01T24:00:00Z"],
          ["from", "2026-01-01T00:00:00+23:60"]
        ]
        for (const [field, value] of cases) {
          namesField(yield* get(`/api/bg/u1?${field}=${encodeURIComponent(value)}`), ["query", field], value)
        }
        const latest = yield* get(
          `/api/bg/u1?from=9999-12-30T00:00:00Z&to=${encodeURIComponent("9999-12-31T23:59:59Z")}`
        )
        assert.deepStrictEqual([latest.status, latest.body], [200, []])
      })
    )
  )
})

describe("a stored reading or owed event that cannot be processed is set aside, never stopping others", () => {
  // What was stored before is nobody's publication any more: the sweep may take it at once (no claim to wait for).
  const noClaim = { publishClaim: Duration.zero }
  const sqliteCore = Layer.unwrap(
    Effect.map(scratchDirectory, (directory) =>
      domainLayer([makeSimulatorProvider()], {
        scheduler: noClaim,
        readingStore: SqliteReadingStore.layer.pipe(
          Layer.provide(SqliteDatabase.layer({ filename: join(directory, "bg-ingest.db") }))
        )
      })
    )
  )

  for (const [name, where, core] of [
    ["memory", "memory", () => domainLayer([makeSimulatorProvider()], { scheduler: noClaim })],
    ["SQLite", "sqlite", () => sqliteCore]
  ] as const) {
    it.live(`${name}: latest, the sweep and the scheduler's cycle carry on around poison stored before`, () =>
      withServer(
        Effect.gen(function* () {
          const store = yield* ReadingStore
          const now = yield* DateTime.now
          const provider = ProviderId.make("webhook")
          const poison = (userId: string, epochMillis: number) =>
            makeReading({
              userId: UserId.make(userId),
              timestamp: DateTime.makeUnsafe(epochMillis),
              glucoseMgDl: 120,
              source: { provider, recordId: null }
            })
          const good = makeReading({
            userId: UserId.make("victim"),
            timestamp: DateTime.subtract(now, { minutes: 3 }),
            glucoseMgDl: 99,
            source: { provider, recordId: null }
          })
          // What the old code stored: instants outside 1970–9999, their events owed. Written straight to the
          // store, as they are already in a database from before.
          yield* store.putMany([
            poison("attacker", Date.UTC(10000, 0, 1)),
            poison("attacker", Date.UTC(-1, 11, 31, 23)),
            poison("victim", Date.UTC(10000, 0, 2)),
            good
          ])
          const latest = yield* get("/api/bg/victim/latest")
          assert.strictEqual(latest.status, 200)
          assert.strictEqual(latest.body.timestamp, isoSeconds(DateTime.toEpochMillis(good.timestamp)))

          const connections = yield* ConnectionStore
          yield* connections.upsert(
            newConnection({
              userId: UserId.make("someone"),
              provider: SIMULATOR_PROVIDER_ID,
              credentials: null,
              backfillFrom: DateTime.subtract(now, { hours: 1 }),
              now
            })
          )
          const setAside = Effect.map(get("/metrics"), (answer) =>
            seriesValue(answer.body, `bg_ingest_set_aside_total{kind="event",where="${where}"}`)
          )
          const before = yield* setAside
          const report = yield* Scheduler.use((scheduler) => scheduler.runCycle)
          assert.deepStrictEqual([report.claimed, report.succeeded, report.republished], [1, 1, 1])
          assert.deepStrictEqual(yield* store.unpublished(100), [])
          const published = yield* InMemoryEventLog.use((log) => log.events)
          assert.isTrue(published.every((event) => event.reading.userId !== "attacker"))
          assert.isTrue(published.some((event) => event.reading.userId === "someone"))

          assert.strictEqual(yield* setAside, before + 3)
        }),
        core()
      )
    )
  }
})
