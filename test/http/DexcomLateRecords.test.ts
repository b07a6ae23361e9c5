import { dexcomWebhookFormat } from "@bg-ingest/adapters/dexcom"
import { UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import type { ExpectedReading } from "../fakes/dexcomRecords.ts"
import { dexcomServiceLayer, TEST_REDIRECT_URI } from "../support/dexcom.ts"
import {
  byTime,
  connectThroughConsent,
  dataCalls,
  dexcomDate,
  fakeDexcomOnTestClock,
  lateAccount,
  requestsDuring,
  T0
} from "../support/dexcomChanges.ts"
import { get, post, testServer } from "../support/server.ts"

const json = (reading: ExpectedReading) => ({
  timestamp: new Date(reading.epochSeconds * 1000).toISOString().replace(".000Z", "Z"),
  glucose_mg_dl: reading.glucoseMgDl,
  trend: reading.trend,
  trend_rate: reading.trendRate,
  status: reading.status,
  source: "dexcom"
})

const readingsOf = (userId: string) =>
  Effect.map(
    get(`/api/bg/${userId}?from=${new Date(T0 - 3 * 86_400_000).toISOString()}&limit=10000`),
    (answer) => answer.body
  )

describe("late Dexcom records over HTTP (TestClock, the fake's clock included)", () => {
  it.effect("each record the transmitter backfills is stored by the next sync on request, reading by reading", () =>
    Effect.gen(function* () {
      // No retries: a retry's backoff would sleep on the TestClock while the fake answers over real I/O.
      const fake = yield* fakeDexcomOnTestClock({ redirectUris: [TEST_REDIRECT_URI] })
      const core = dexcomServiceLayer(fake, { settings: { retries: 0 } })
      const account = lateAccount()
      fake.addUser("SandboxUser1", { records: account.records, late: account.late })
      yield* Effect.gen(function* () {
        yield* TestClock.adjust("2 minutes")
        yield* connectThroughConsent(fake, UserId.make("alice"), "SandboxUser1")
        const backfill = yield* post("/api/bg/alice/connections/dexcom/sync")
        assert.strictEqual(backfill.status, 200, JSON.stringify(backfill.body))
        const stored = [...account.expected]
        assert.deepStrictEqual(yield* readingsOf("alice"), stored.map(json))

        // The newest reading stays where it was; the hole fills one record at a time.
        let lastSyncTime = dexcomDate(T0 + 2 * 60_000 - 60_000)
        for (const [index, seconds] of account.lateSeconds.entries()) {
          yield* TestClock.adjust("3 minutes")
          fake.deliverLate("SandboxUser1", 1)
          yield* TestClock.adjust("1 minute")
          const sync = yield* requestsDuring(fake, post("/api/bg/alice/connections/dexcom/sync"))
          assert.strictEqual(sync.result.status, 200, JSON.stringify(sync.result.body))
          assert.deepStrictEqual(dataCalls(sync.requests), [
            `dataRange ${lastSyncTime} 200`,
            `egvs ${dexcomDate(seconds * 1000)}..${dexcomDate(seconds * 1000 + 1000)} 200`
          ])
          const expected = account.expectedLate[index]
          assert.deepInclude(sync.result.body, {
            windows: 1,
            inserted: expected === undefined ? 0 : 1,
            skipped_without_value: expected === undefined ? 1 : 0
          })
          if (expected !== undefined) stored.push(expected)
          assert.deepStrictEqual(yield* readingsOf("alice"), [...stored].sort(byTime).map(json), `late ${index}`)
          lastSyncTime = dexcomDate(T0 + (2 + 4 * (index + 1)) * 60_000 - 60_000)
        }
        assert.strictEqual(fake.pendingLate("SandboxUser1"), 0)
        assert.strictEqual(stored.length, account.expected.length + account.expectedLate.filter(Boolean).length)
      }).pipe(Effect.provide(testServer(core, { formats: [dexcomWebhookFormat] }).pipe(Layer.provideMerge(core))))
    })
  )
})
