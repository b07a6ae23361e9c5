import { makeSimulatorProvider } from "@bg-ingest/adapters/simulator"
import { Connect, ConnectionStore, newConnection, ProviderId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { domainLayer } from "../support/domain.ts"
import { user } from "../support/fixtures.ts"

const NOW = Date.UTC(2026, 4, 1, 12, 0, 0)
const alice = user("alice")
const simulator = ProviderId.make("simulator")

describe("Connect.disconnect", () => {
  it.effect("forgets the credentials and stops polling, keeping the cursor; unknown connections are not found", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(NOW)
      const connect = yield* Connect
      const connections = yield* ConnectionStore
      const created = DateTime.makeUnsafe(NOW - 86_400_000)
      const cursor = DateTime.makeUnsafe(NOW - 3_600_000)
      yield* connections.upsert({
        ...newConnection({
          userId: alice,
          provider: simulator,
          backfillFrom: created,
          credentials: "sealed",
          now: created
        }),
        status: "error",
        syncedThrough: cursor,
        lastError: "timed out"
      })
      yield* TestClock.adjust("1 minute")
      const disconnected = yield* connect.disconnect(alice, "simulator")
      assert.deepInclude(disconnected, {
        status: "disconnected",
        credentials: null,
        nextPollAt: null,
        lastError: null,
        syncedThrough: cursor
      })
      assert.strictEqual(DateTime.toEpochMillis(disconnected.updatedAt), NOW + 60_000)
      assert.deepStrictEqual(yield* connections.get(alice, simulator), Option.some(disconnected))

      for (const provider of ["dexcom", "not a provider id!"]) {
        const missing = yield* Effect.flip(connect.disconnect(alice, provider))
        assert.deepInclude(missing, {
          _tag: "ConnectionNotFound",
          provider,
          message: `alice has no ${provider} connection`
        })
      }
    }).pipe(Effect.provide(domainLayer([makeSimulatorProvider()])))
  )
})
