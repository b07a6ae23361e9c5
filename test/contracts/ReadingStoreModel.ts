import {
  makeReading,
  makeWindow,
  type Reading,
  type ReadingChangeKind,
  ReadingStore,
  readingKey,
  sameMeasurement,
  UserId
} from "@bg-ingest/domain"
import { assert, it } from "@effect/vitest"
import { DateTime, Effect, type Layer, Option } from "effect"
import fc from "fast-check"
import { at, TEST_PROVIDER } from "../support/fixtures.ts"

/**
 * A model-based property test of the `ReadingStore` port: random sequences of writes, confirmations, deletions and
 * reads run against an adapter and against a plain model of what the port promises (identity `(user, instant)`,
 * a changed measurement is an update, provenance alone is not, an owed event stays owed until the measurement
 * it was for is confirmed), and every answer is compared. Few users and instants, so that commands collide.
 */

interface Spec {
  readonly user: number
  readonly slot: number
  readonly glucose: number
  readonly trend: "flat" | "singleUp"
  readonly trendRate: number | null
  readonly recordId: string | null
}

type Command =
  | { readonly kind: "put"; readonly batch: ReadonlyArray<Spec> }
  | { readonly kind: "confirm"; readonly batch: ReadonlyArray<Spec> }
  | {
      readonly kind: "range"
      readonly user: number
      readonly from: number
      readonly to: number
      readonly limit: number
    }
  | { readonly kind: "latest"; readonly user: number }
  | { readonly kind: "unpublished"; readonly limit: number }
  | { readonly kind: "deleteUser"; readonly user: number }

const USERS = 3
const SLOTS = 8

const spec: fc.Arbitrary<Spec> = fc.record({
  user: fc.nat(USERS - 1),
  slot: fc.nat(SLOTS - 1),
  glucose: fc.constantFrom(100, 101, 250),
  trend: fc.constantFrom("flat" as const, "singleUp" as const),
  trendRate: fc.constantFrom(null, 0.4),
  recordId: fc.constantFrom(null, "a", "b")
})

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("put" as const), batch: fc.array(spec, { maxLength: 6 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("confirm" as const), batch: fc.array(spec, { maxLength: 6 }) })
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ user: fc.nat(USERS - 1), a: fc.nat(SLOTS), b: fc.nat(SLOTS), limit: fc.integer({ min: 1, max: 5 }) })
      .map(({ user, a, b, limit }) => ({
        kind: "range" as const,
        user,
        from: Math.min(a, b),
        to: Math.max(a, b),
        limit
      }))
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("latest" as const), user: fc.nat(USERS - 1) }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant("unpublished" as const), limit: fc.integer({ min: 1, max: 30 }) })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteUser" as const), user: fc.nat(USERS - 1) }) }
)

const userOf = (index: number) => UserId.make(`model-${index}`)
const slotTime = (slot: number) => at(slot * 5)

const readingOf = (s: Spec): Reading =>
  makeReading({
    userId: userOf(s.user),
    timestamp: slotTime(s.slot),
    glucoseMgDl: s.glucose,
    trend: s.trend,
    trendRate: s.trendRate,
    status: "ok",
    source: { provider: TEST_PROVIDER, recordId: s.recordId }
  })

interface Row {
  reading: Reading
  owed: ReadingChangeKind | null
}

/** Everything of a reading, comparable with `deepStrictEqual`. */
const plain = (reading: Reading) => ({ ...reading, timestamp: DateTime.toEpochMillis(reading.timestamp) })
/** A change as far as the event it owes goes: which reading, which measurement, which kind. */
const owedKey = (kind: ReadingChangeKind, reading: Reading) =>
  `${kind}|${readingKey(reading)}|${reading.glucoseMgDl}|${reading.trend}|${reading.trendRate}|${reading.status}`

/** Runs `commands` against the store in context and against the model, comparing every answer. */
const check = (commands: ReadonlyArray<Command>) =>
  Effect.gen(function* () {
    const store = yield* ReadingStore
    const model = new Map<string, Row>()
    const rowsOf = (user: number) =>
      [...model.values()]
        .filter((row) => row.reading.userId === userOf(user))
        .sort((a, b) => DateTime.toEpochMillis(a.reading.timestamp) - DateTime.toEpochMillis(b.reading.timestamp))

    for (const [step, cmd] of commands.entries()) {
      const where = `step ${step} (${cmd.kind})`
      switch (cmd.kind) {
        case "put": {
          const readings = cmd.batch.map(readingOf)
          const counts = { inserted: 0, updated: 0, unchanged: 0 }
          // What this write changed, and what it found unchanged but still owed an event.
          const changes: Array<string> = []
          const owed: Array<string> = []
          for (const reading of readings) {
            const row = model.get(readingKey(reading))
            if (row === undefined) {
              model.set(readingKey(reading), { reading, owed: "created" })
              counts.inserted += 1
              changes.push(owedKey("created", reading))
            } else if (sameMeasurement(row.reading, reading)) {
              counts.unchanged += 1
              if (row.owed !== null) owed.push(owedKey(row.owed, row.reading))
            } else {
              row.reading = reading
              row.owed = row.owed ?? "updated"
              counts.updated += 1
              changes.push(owedKey(row.owed, reading))
            }
          }
          const result = yield* store.putMany(readings)
          assert.deepStrictEqual(
            { inserted: result.inserted, updated: result.updated, unchanged: result.unchanged },
            counts,
            where
          )
          assert.deepStrictEqual(
            result.changes.map((change) => owedKey(change.kind, change.reading)).sort(),
            changes.sort(),
            `${where}: changes`
          )
          assert.deepStrictEqual(
            result.owed.map((change) => owedKey(change.kind, change.reading)).sort(),
            owed.sort(),
            `${where}: owed`
          )
          break
        }
        case "confirm": {
          const readings = cmd.batch.map(readingOf)
          yield* store.markPublished(readings)
          for (const reading of readings) {
            const row = model.get(readingKey(reading))
            if (row !== undefined && sameMeasurement(row.reading, reading)) row.owed = null
          }
          break
        }
        case "range": {
          const found = yield* store.range(
            userOf(cmd.user),
            makeWindow(slotTime(cmd.from), slotTime(cmd.to)),
            cmd.limit
          )
          const expected = rowsOf(cmd.user)
            .filter((row) => {
              const millis = DateTime.toEpochMillis(row.reading.timestamp)
              return (
                millis >= DateTime.toEpochMillis(slotTime(cmd.from)) &&
                millis < DateTime.toEpochMillis(slotTime(cmd.to))
              )
            })
            .slice(0, cmd.limit)
          assert.deepStrictEqual(
            found.map(plain),
            expected.map((row) => plain(row.reading)),
            where
          )
          break
        }
        case "latest": {
          const found = yield* store.latest(userOf(cmd.user))
          const newest = rowsOf(cmd.user).at(-1)
          assert.deepStrictEqual(
            Option.map(found, plain),
            newest === undefined ? Option.none() : Option.some(plain(newest.reading)),
            where
          )
          break
        }
        case "unpublished": {
          const found = yield* store.unpublished(cmd.limit)
          const owed = new Map(
            [...model.values()].filter((row) => row.owed !== null).map((row) => [readingKey(row.reading), row])
          )
          assert.strictEqual(found.length, Math.min(cmd.limit, owed.size), where)
          assert.strictEqual(new Set(found.map((change) => readingKey(change.reading))).size, found.length, where)
          for (const change of found) {
            const row = owed.get(readingKey(change.reading))
            assert.isDefined(row, `${where}: ${readingKey(change.reading)} is not owed`)
            assert.deepStrictEqual([change.kind, plain(change.reading)], [row!.owed, plain(row!.reading)], where)
          }
          break
        }
        case "deleteUser": {
          const expected = rowsOf(cmd.user)
          assert.strictEqual(yield* store.deleteUser(userOf(cmd.user)), expected.length, where)
          for (const row of expected) model.delete(readingKey(row.reading))
          break
        }
      }
    }
  })

/**
 * Registers the property for one adapter: `runs` random command sequences, each on a fresh store from
 * `makeLayer`. The seed is fixed (a run is reproducible); FC_SEED picks another one to explore.
 */
export const readingStoreModelTest = (
  name: string,
  makeLayer: () => Layer.Layer<ReadingStore, unknown>,
  options: { readonly runs: number; readonly timeout?: number }
) =>
  it(
    `ReadingStore model (${name}): any sequence of writes, confirmations and deletions reads back as the model says`,
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 30 }), (commands) =>
          Effect.runPromise(check(commands).pipe(Effect.provide(makeLayer()), Effect.scoped))
        ),
        { numRuns: options.runs, seed: Number(process.env.FC_SEED ?? 20_261_130) }
      )
    },
    options.timeout ?? 60_000
  )
