import { ConnectionStore, ProviderId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, type Layer, Option } from "effect"
import { at, connection, T0, user } from "../support/fixtures.ts"

const plainConnection = (c: object) =>
  JSON.parse(JSON.stringify(c, (_, v) => (DateTime.isDateTime(v) ? DateTime.toEpochMillis(v) : v)))

/** The behaviour every `ConnectionStore` adapter must have. `makeLayer` gives an empty store per test. */
export const connectionStoreContract = (name: string, makeLayer: () => Layer.Layer<ConnectionStore, unknown>) =>
  describe(`ConnectionStore contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, ConnectionStore>) =>
      it.live(title, () => body.pipe(Effect.provide(makeLayer())))
    const providers = [ProviderId.make("dexcom"), ProviderId.make("simulator")]

    test(
      "upsert then get gives back every field",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        const full = connection("u1", "dexcom", {
          status: "rate_limited",
          credentials: "v1.abc.def",
          syncedThrough: at(30),
          lastSyncAt: at(31),
          lastReadingAt: at(25),
          changesSince: at(29),
          lastError: "Too many requests",
          nextPollAt: at(45),
          consecutiveFailures: 2
        })
        const empty = connection("u1", "simulator", { nextPollAt: null })
        yield* store.upsert(full)
        yield* store.upsert(empty)
        assert.deepStrictEqual(
          plainConnection(Option.getOrThrow(yield* store.get(user("u1"), providers[0]!))),
          plainConnection(full)
        )
        assert.deepStrictEqual(
          plainConnection(Option.getOrThrow(yield* store.get(user("u1"), providers[1]!))),
          plainConnection(empty)
        )
        assert.isTrue(Option.isNone(yield* store.get(user("u2"), providers[0]!)))
      })
    )

    test(
      "listForUser answers that user's connections by provider",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        yield* store.upsert(connection("u1", "simulator"))
        yield* store.upsert(connection("u1", "dexcom"))
        yield* store.upsert(connection("u2", "dexcom"))
        const list = yield* store.listForUser(user("u1"))
        assert.deepStrictEqual(
          list.map((c) => c.provider),
          ["dexcom", "simulator"]
        )
        assert.deepStrictEqual(yield* store.listForUser(user("u3")), [])
      })
    )

    test(
      "update changes only the given fields, and nothing for a missing connection",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        const original = connection("u1", "dexcom", { credentials: "secret-blob", lastError: "old" })
        yield* store.upsert(original)
        const updated = yield* store.update(user("u1"), providers[0]!, {
          syncedThrough: at(60),
          changesSince: at(59),
          lastError: null,
          nextPollAt: null
        })
        assert.deepStrictEqual(
          plainConnection(Option.getOrThrow(updated)),
          plainConnection({
            ...original,
            syncedThrough: at(60),
            changesSince: at(59),
            lastError: null,
            nextPollAt: null
          })
        )
        assert.deepStrictEqual(
          plainConnection(Option.getOrThrow(yield* store.get(user("u1"), providers[0]!))),
          plainConnection(Option.getOrThrow(updated))
        )
        assert.isTrue(Option.isNone(yield* store.update(user("u9"), providers[0]!, { lastError: "x" })))
        assert.isTrue(Option.isNone(yield* store.get(user("u9"), providers[0]!)))
      })
    )

    test(
      "remove forgets the connection and its credentials",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        yield* store.upsert(connection("u1", "dexcom", { credentials: "blob" }))
        assert.isTrue(yield* store.remove(user("u1"), providers[0]!))
        assert.isFalse(yield* store.remove(user("u1"), providers[0]!))
        assert.isTrue(Option.isNone(yield* store.get(user("u1"), providers[0]!)))
      })
    )

    test(
      "claimDue takes due, pollable connections of the given providers, earliest first, and leases them",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        yield* store.upsert(connection("due-late", "dexcom", { nextPollAt: at(-1) }))
        yield* store.upsert(connection("due-early", "simulator", { nextPollAt: at(-30) }))
        yield* store.upsert(connection("due-error", "dexcom", { status: "error", nextPollAt: at(-2) }))
        yield* store.upsert(connection("due-limited", "dexcom", { status: "rate_limited", nextPollAt: at(0) }))
        yield* store.upsert(connection("future", "dexcom", { nextPollAt: at(1) }))
        yield* store.upsert(connection("reauth", "dexcom", { status: "needs_reauthorization", nextPollAt: at(-5) }))
        yield* store.upsert(connection("gone", "dexcom", { status: "disconnected", nextPollAt: at(-5) }))
        yield* store.upsert(connection("unscheduled", "dexcom", { nextPollAt: null }))
        yield* store.upsert(connection("other-provider", "share", { nextPollAt: at(-60) }))

        const leaseUntil = at(15)
        const first = yield* store.claimDue({ now: T0, leaseUntil, providers, limit: 3 })
        assert.deepStrictEqual(
          first.map((c) => c.userId),
          ["due-early", "due-error", "due-late"]
        )
        const second = yield* store.claimDue({ now: T0, leaseUntil, providers, limit: 10 })
        assert.deepStrictEqual(
          second.map((c) => c.userId),
          ["due-limited"]
        )
        assert.deepStrictEqual(yield* store.claimDue({ now: T0, leaseUntil, providers, limit: 10 }), [])
        const leased = Option.getOrThrow(yield* store.get(user("due-late"), providers[0]!))
        assert.strictEqual(DateTime.toEpochMillis(leased.nextPollAt!), DateTime.toEpochMillis(leaseUntil))
        // After the lease, the claimed ones are due again, with the future one.
        const later = yield* store.claimDue({ now: at(15), leaseUntil: at(30), providers, limit: 10 })
        assert.strictEqual(later.length, 5)
        assert.deepStrictEqual(yield* store.claimDue({ now: T0, leaseUntil, providers: [], limit: 10 }), [])
      })
    )

    test(
      "countByStatus counts every status",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        yield* store.upsert(connection("a", "dexcom"))
        yield* store.upsert(connection("b", "dexcom"))
        yield* store.upsert(connection("c", "dexcom", { status: "needs_reauthorization" }))
        assert.deepStrictEqual(yield* store.countByStatus, {
          active: 2,
          needs_reauthorization: 1,
          rate_limited: 0,
          error: 0,
          disconnected: 0
        })
      })
    )
  })
