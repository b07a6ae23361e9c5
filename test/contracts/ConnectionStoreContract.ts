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
        const first = yield* store.claimDue({ now: T0, leaseUntil, providers, limit: 3, holder: "replica-a" })
        assert.deepStrictEqual(
          first.map((c) => c.userId),
          ["due-early", "due-error", "due-late"]
        )
        const second = yield* store.claimDue({ now: T0, leaseUntil, providers, limit: 10, holder: "replica-a" })
        assert.deepStrictEqual(
          second.map((c) => c.userId),
          ["due-limited"]
        )
        assert.deepStrictEqual(
          yield* store.claimDue({ now: T0, leaseUntil, providers, limit: 10, holder: "replica-a" }),
          []
        )
        const leased = Option.getOrThrow(yield* store.get(user("due-late"), providers[0]!))
        assert.strictEqual(DateTime.toEpochMillis(leased.nextPollAt!), DateTime.toEpochMillis(leaseUntil))
        // After the lease, the claimed ones are due again, with the future one.
        const later = yield* store.claimDue({
          now: at(15),
          leaseUntil: at(30),
          providers,
          limit: 10,
          holder: "replica-a"
        })
        assert.strictEqual(later.length, 5)
        assert.deepStrictEqual(
          yield* store.claimDue({ now: T0, leaseUntil, providers: [], limit: 10, holder: "replica-a" }),
          []
        )
      })
    )

    test(
      "renewLease moves a lease its holder still holds, and nobody else's; a repeat that already landed counts",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        const dexcom = providers[0]!
        yield* store.upsert(connection("u1", "dexcom", { nextPollAt: at(-1) }))
        const claim = (now: DateTime.Utc, leaseUntil: DateTime.Utc, holder: string) =>
          store.claimDue({ now, leaseUntil, providers, limit: 10, holder })
        assert.strictEqual((yield* claim(T0, at(15), "replica-a")).length, 1)
        const heldByA = { userId: user("u1"), provider: dexcom, holder: "replica-a", until: at(15) }
        const nextPoll = Effect.map(store.get(user("u1"), dexcom), (found) =>
          DateTime.toEpochMillis(Option.getOrThrow(found).nextPollAt!)
        )
        assert.isFalse(yield* store.renewLease({ ...heldByA, holder: "replica-b" }, at(30)), "another's lease")
        assert.isFalse(yield* store.renewLease({ ...heldByA, until: at(14) }, at(30)), "a lease that is not its end")
        assert.strictEqual(yield* nextPoll, DateTime.toEpochMillis(at(15)))
        assert.isTrue(yield* store.renewLease(heldByA, at(30)))
        assert.strictEqual(yield* nextPoll, DateTime.toEpochMillis(at(30)))
        assert.isTrue(yield* store.renewLease(heldByA, at(30)), "the same renewal again")
        // Renewed, it is not due when the first lease would have ended; once the renewed one ends, it is.
        assert.deepStrictEqual(yield* claim(at(20), at(35), "replica-b"), [])
        assert.strictEqual((yield* claim(at(30), at(45), "replica-b")).length, 1)
        // Taken over: the first holder's renewal changes nothing.
        assert.isFalse(yield* store.renewLease({ ...heldByA, until: at(30) }, at(60)))
        assert.strictEqual(yield* nextPoll, DateTime.toEpochMillis(at(45)))
        // The sync recorded its outcome (its next poll): the lease is over, a renewal changes nothing.
        yield* store.update(user("u1"), dexcom, { nextPollAt: at(50), status: "active" })
        const heldByB = { userId: user("u1"), provider: dexcom, holder: "replica-b", until: at(45) }
        assert.isFalse(yield* store.renewLease(heldByB, at(60)))
        assert.strictEqual(yield* nextPoll, DateTime.toEpochMillis(at(50)))
        assert.isFalse(yield* store.renewLease({ ...heldByB, userId: user("nobody") }, at(60)))
      })
    )

    test(
      "releaseLease gives a held connection back, due at once, and nothing else",
      Effect.gen(function* () {
        const store = yield* ConnectionStore
        const dexcom = providers[0]!
        yield* store.upsert(connection("u1", "dexcom", { nextPollAt: at(-1) }))
        yield* store.upsert(connection("u2", "dexcom", { nextPollAt: at(-1) }))
        const claimed = yield* store.claimDue({ now: T0, leaseUntil: at(15), providers, limit: 10, holder: "a" })
        assert.strictEqual(claimed.length, 2)
        const held = (id: string) => ({ userId: user(id), provider: dexcom, holder: "a", until: at(15) })
        assert.isFalse(yield* store.releaseLease({ ...held("u1"), holder: "b" }, T0), "another's lease")
        assert.isTrue(yield* store.releaseLease(held("u1"), T0))
        assert.isTrue(yield* store.releaseLease(held("u1"), T0), "the same release again")
        // Another replica takes it at once; the one not released stays leased.
        const taken = yield* store.claimDue({ now: T0, leaseUntil: at(15), providers, limit: 10, holder: "b" })
        assert.deepStrictEqual(
          taken.map((c) => c.userId),
          [user("u1")]
        )
        assert.isFalse(yield* store.releaseLease(held("u1"), T0), "taken by another meanwhile")
        // A sync that recorded its outcome (re-authorization needed): nothing is released.
        yield* store.update(user("u2"), dexcom, { status: "needs_reauthorization", nextPollAt: null })
        assert.isFalse(yield* store.releaseLease(held("u2"), T0))
        const u2 = Option.getOrThrow(yield* store.get(user("u2"), dexcom))
        assert.deepStrictEqual([u2.status, u2.nextPollAt], ["needs_reauthorization", null])
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
