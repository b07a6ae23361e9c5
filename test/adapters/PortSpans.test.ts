import {
  InMemoryConnectionStore,
  InMemoryEventPublisher,
  InMemoryNightscoutSiteStore,
  InMemoryOAuthStateStore,
  InMemoryReadingStore
} from "@bg-ingest/adapters/memory"
import { makeSimulatorProvider } from "@bg-ingest/adapters/simulator"
import {
  SqliteConnectionStore,
  SqliteDatabase,
  SqliteNightscoutSiteStore,
  SqliteOAuthStateStore,
  SqliteReadingStore
} from "@bg-ingest/adapters/sqlite"
import {
  ConnectionStore,
  EventPublisher,
  makeWindow,
  NightscoutSiteStore,
  OAuthStateStore,
  ProviderId,
  ReadingStore
} from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option, Tracer } from "effect"
import { user } from "../support/fixtures.ts"

/** Runs `effect` with a tracer that records the name of every span it opens. */
const spanNames = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const names: Array<string> = []
    const tracer = Tracer.make({
      span: (options) => {
        names.push(options.name)
        return Tracer.nativeTracer.span(options)
      }
    })
    yield* effect.pipe(Effect.withTracer(tracer))
    return names
  })

const alice = user("alice")
const simulator = ProviderId.make("simulator")
const window = makeWindow(DateTime.makeUnsafe(0), DateTime.makeUnsafe(1000))

/** One call of every port method, through whatever adapters the layer provides. */
const everyStoreCall = Effect.gen(function* () {
  const readings = yield* ReadingStore
  const connections = yield* ConnectionStore
  const states = yield* OAuthStateStore
  const sites = yield* NightscoutSiteStore
  yield* readings.putMany([])
  yield* readings.markPublished([])
  yield* readings.unpublished(1)
  yield* readings.latest(alice)
  yield* readings.range(alice, window, 1)
  yield* readings.deleteUser(alice)
  yield* readings.ping
  yield* connections.get(alice, simulator)
  yield* connections.listForUser(alice)
  yield* connections.update(alice, simulator, {})
  yield* connections.remove(alice, simulator)
  yield* connections.claimDue({
    now: window.to,
    leaseUntil: window.to,
    providers: [simulator],
    limit: 1,
    holder: "spans"
  })
  yield* connections.countByStatus
  yield* states.consume("0".repeat(64))
  yield* sites.get(alice)
  yield* sites.find("0".repeat(40))
  yield* sites.remove(alice)
})

const storeMethods = [
  "ReadingStore.putMany",
  "ReadingStore.markPublished",
  "ReadingStore.unpublished",
  "ReadingStore.latest",
  "ReadingStore.range",
  "ReadingStore.deleteUser",
  "ReadingStore.ping",
  "ConnectionStore.get",
  "ConnectionStore.listForUser",
  "ConnectionStore.update",
  "ConnectionStore.remove",
  "ConnectionStore.claimDue",
  "ConnectionStore.countByStatus",
  "OAuthStateStore.consume",
  "NightscoutSiteStore.get",
  "NightscoutSiteStore.find",
  "NightscoutSiteStore.remove"
]

describe("every port call is a span named after its adapter and method", () => {
  for (const [technology, layer] of [
    [
      "InMemory",
      Layer.mergeAll(
        InMemoryReadingStore.layer,
        InMemoryConnectionStore.layer,
        InMemoryOAuthStateStore.layer,
        InMemoryNightscoutSiteStore.layer
      )
    ],
    [
      "Sqlite",
      Layer.mergeAll(
        SqliteReadingStore.layer,
        SqliteConnectionStore.layer,
        SqliteOAuthStateStore.layer,
        SqliteNightscoutSiteStore.layer
      ).pipe(Layer.provide(SqliteDatabase.layer({ filename: ":memory:" })))
    ]
  ] as const) {
    it.effect(`${technology} stores`, () =>
      Effect.gen(function* () {
        const names = yield* spanNames(everyStoreCall)
        assert.deepStrictEqual(
          names,
          storeMethods.map((method) => `${technology}${method}`)
        )
      }).pipe(Effect.provide(layer))
    )
  }

  it.effect("the in-memory publisher and the simulator", () =>
    Effect.gen(function* () {
      const publisher = yield* EventPublisher
      const provider = makeSimulatorProvider()
      const names = yield* spanNames(
        Effect.all([
          publisher.publish([]),
          publisher.ping,
          provider.changes(alice, Option.none()),
          provider.fetchReadings(alice, window)
        ])
      )
      assert.deepStrictEqual(names, [
        "InMemoryEventPublisher.publish",
        "InMemoryEventPublisher.ping",
        "SimulatorProvider.changes",
        "SimulatorProvider.fetchReadings"
      ])
    }).pipe(Effect.provide(InMemoryEventPublisher.layer()))
  )
})
