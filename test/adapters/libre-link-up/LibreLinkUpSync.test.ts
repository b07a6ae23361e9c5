import { readFileSync } from "node:fs"
import {
  InMemoryConnectionStore,
  InMemoryEventLog,
  InMemoryReadingStore,
  LIBRE_LINK_UP_PROVIDER_ID,
  makeLibreLinkUpProvider,
  SqliteDatabase,
  TokenCipher
} from "@bg-ingest/adapters"
import { ConnectionStore, makeWindow, Sync, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer, Option } from "effect"
import { FetchHttpClient } from "effect/http"
import {
  type FakeLibreLinkUp,
  type FakeLibreOptions,
  fakeLibreLinkUp,
  LIBRE_PATHS
} from "../../fakes/FakeLibreLinkUpServer.ts"
import { type LibreSensor, libreSensor } from "../../fakes/libreRecords.ts"
import { testCrypto } from "../../support/crypto.ts"
import { testTokenCipher } from "../../support/dexcom.ts"
import { expectedAfterPolls, type LibrePoll, storedLibre } from "../../support/libreExpected.ts"
import {
  connectLibre,
  libreServiceLayer,
  libreTestSettings,
  sharedClock,
  storeLibreConnection
} from "../../support/libreLinkUp.ts"
import { sqliteStoresLayer } from "../../support/sqlite.ts"

const alice = UserId.make("alice")
const bob = UserId.make("bob")
const MINUTE = 60_000
const HOUR = 60 * MINUTE
/** The test's "now": any instant would do; the sensor and every expectation are built from it. */
const T0 = Date.UTC(2026, 10, 3, 12, 0, 0)
const ALICE = "alice@example.org"
const PASSWORD = "Correct-Horse-Battery-7"
const ZONE = "America/New_York"

/**
 * A sensor of 11 hours before T0 and 3 after, in phase so that T0's current reading (10 s before T0) is a minute
 * the history records too (1 s off, with another value): the pair the adapter must store once.
 */
const sensorAroundT0 = (): LibreSensor =>
  libreSensor({ start: T0 - 660 * MINUTE - 10_000, count: 840, nullEvery: 13, highLowEvery: 17, impossibleEvery: 19 })

const setUp = (
  body: (fake: FakeLibreLinkUp, clock: ReturnType<typeof sharedClock>) => Effect.Effect<void, unknown, any>,
  options: { readonly fake?: FakeLibreOptions; readonly stores?: Layer.Layer<any, any> } = {}
) =>
  Effect.gen(function* () {
    const clock = sharedClock(T0)
    yield* clock.start
    const fake = yield* fakeLibreLinkUp({ now: clock.now, ...options.fake })
    const layer = libreServiceLayer(fake, {
      settings: { retries: 0 },
      ...(options.stores === undefined ? {} : { stores: options.stores })
    })
    yield* body(fake, clock).pipe(Effect.provide(layer))
  })

const connectionOf = (userId: UserId) =>
  ConnectionStore.use((store) => store.get(userId, LIBRE_LINK_UP_PROVIDER_ID)).pipe(Effect.map(Option.getOrThrow))

const sync = (userId: UserId) => Sync.use((service) => service.sync(userId, "libre-link-up"))

describe("LibreLinkUp through the domain: connect, backfill, poll", () => {
  it.effect("connect and sync store the 12-hour history and the current reading once; a second sync adds nothing", () =>
    setUp((fake, clock) =>
      Effect.gen(function* () {
        const sensor = sensorAroundT0()
        fake.addAccount(ALICE, {
          password: PASSWORD,
          region: "eu2",
          patients: [{ firstName: "Ada", lastName: "Lovelace", zone: ZONE, sensor }]
        })
        const connected = yield* connectLibre(alice, ALICE, PASSWORD)
        assert.isTrue(connected.created)
        assert.strictEqual(DateTime.toEpochMillis(connected.connection.backfillFrom), T0 - 12 * HOUR)
        assert.strictEqual(fake.loginAttempts(ALICE), 2, "the entry point's redirect, then the region's login")

        const first = yield* sync(alice)
        const expected = expectedAfterPolls(sensor, ZONE, [T0])
        assert.deepStrictEqual(yield* storedLibre(alice), expected)
        assert.deepInclude(first, { windows: 1, inserted: expected.length, updated: 0 })
        const inWindow = sensor.history.filter((p) => p.epochMillis <= T0 - 15 * MINUTE)
        assert.strictEqual(first.skippedWithoutValue, inWindow.filter((p) => p.valueMgDl === null).length)
        assert.strictEqual(first.rejected, inWindow.filter((p) => p.valueMgDl === 900).length)
        assert.strictEqual((yield* InMemoryEventLog.use((log) => log.events)).length, expected.length)
        assert.strictEqual(fake.loginAttempts(ALICE), 2, "the connect's ticket serves the sync")

        // Asked again at once: the graph is read again, and nothing changes.
        const graphs = fake.count(LIBRE_PATHS.connections)
        assert.deepInclude(yield* sync(alice), { inserted: 0, updated: 0, unchanged: expected.length })
        assert.strictEqual(fake.count(LIBRE_PATHS.connections), graphs + 1)

        // 20 minutes on, the history holds the minute of the first current reading: that reading is updated.
        yield* clock.advance("20 minutes")
        const later = yield* sync(alice)
        const after = expectedAfterPolls(sensor, ZONE, [T0, T0 + 20 * MINUTE])
        assert.deepStrictEqual(yield* storedLibre(alice), after)
        assert.deepInclude(later, { inserted: after.length - expected.length, updated: 1 })
        const instants = after.map((reading) => reading.epochSeconds)
        for (const [index, at] of instants.slice(1).entries()) assert.isAtLeast(at - instants[index]!, 20)
        assert.strictEqual(fake.loginAttempts(ALICE), 2)
        const connection = yield* connectionOf(alice)
        assert.strictEqual(connection.status, "active")
        assert.strictEqual(DateTime.toEpochMillis(connection.lastReadingAt!), after.at(-1)!.epochSeconds * 1000)
      })
    )
  )

  it.effect(
    "a phone away: the current reading stops, nothing is stamped with the poll's time; back, the gap fills",
    () =>
      setUp((fake, clock) =>
        Effect.gen(function* () {
          const sensor = sensorAroundT0()
          fake.addAccount(ALICE, {
            password: PASSWORD,
            patients: [{ firstName: "A", lastName: "B", zone: ZONE, sensor }]
          })
          yield* connectLibre(alice, ALICE, PASSWORD)
          yield* sync(alice)
          // The phone leaves with the current reading whose minute the history records a unit lower, 20 minutes later.
          const away = T0
          fake.setPhoneAway(ALICE, fake.patientIds(ALICE)[0]!, away)
          const polls: Array<LibrePoll> = [T0]
          for (let i = 1; i <= 4; i++) {
            yield* clock.advance("10 minutes")
            polls.push({ at: T0 + i * 10 * MINUTE, awaySince: away })
            yield* sync(alice)
          }
          assert.deepStrictEqual(yield* storedLibre(alice), expectedAfterPolls(sensor, ZONE, polls))
          assert.isTrue((yield* storedLibre(alice)).every((reading) => reading.epochSeconds * 1000 <= away))

          fake.setPhoneAway(ALICE, fake.patientIds(ALICE)[0]!, null)
          yield* clock.advance("10 minutes")
          const back = yield* sync(alice)
          const expected = expectedAfterPolls(sensor, ZONE, [...polls, T0 + 50 * MINUTE])
          assert.deepStrictEqual(yield* storedLibre(alice), expected)
          assert.isAbove(back.inserted, 4, "the gap's history and the new current reading")
        })
      )
  )

  it.effect("an account following two patients reads the one chosen, and only that one", () =>
    setUp((fake) =>
      Effect.gen(function* () {
        const mine = sensorAroundT0()
        const theirs = libreSensor({ start: T0 - 5 * HOUR + 7_000, count: 400, value: () => 222 })
        fake.addAccount(ALICE, {
          password: PASSWORD,
          patients: [
            { firstName: "Grace", lastName: "Hopper", zone: "Europe/Paris", sensor: theirs },
            { firstName: "Ada", lastName: "Lovelace", zone: ZONE, sensor: mine }
          ]
        })
        const [graceId, adaId] = fake.patientIds(ALICE)
        const choice = yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD))
        assert.deepInclude(choice, { _tag: "PatientChoiceRequired", reason: "patient_required" })
        assert.deepStrictEqual(choice._tag === "PatientChoiceRequired" ? choice.patients : [], [
          { patientId: graceId!, name: "Grace Hopper" },
          { patientId: adaId!, name: "Ada Lovelace" }
        ])
        assert.notInclude(choice.message, "Ada")
        const unknown = yield* Effect.flip(connectLibre(alice, ALICE, PASSWORD, "7c1f1e0e-0000-4000-8000-000000000000"))
        assert.deepInclude(unknown, { _tag: "PatientChoiceRequired", reason: "unknown_patient" })
        assert.isTrue(Option.isNone(yield* ConnectionStore.use((s) => s.get(alice, LIBRE_LINK_UP_PROVIDER_ID))))

        yield* connectLibre(alice, ALICE, PASSWORD, adaId!.toUpperCase())
        yield* sync(alice)
        const stored = yield* storedLibre(alice)
        assert.deepStrictEqual(stored, expectedAfterPolls(mine, ZONE, [T0]))
        assert.isFalse(stored.some((reading) => reading.glucoseMgDl === 222))
        assert.strictEqual(fake.loginAttempts(ALICE), 3, "one login per connect attempt")
      })
    )
  )

  it.effect(
    "an account that follows nobody yet cannot be connected; a patient who stops sharing stops the polling",
    () =>
      setUp((fake) =>
        Effect.gen(function* () {
          fake.addAccount("nobody@example.org", { password: PASSWORD })
          const none = yield* Effect.flip(connectLibre(bob, "nobody@example.org", PASSWORD))
          assert.deepInclude(none, { _tag: "PatientChoiceRequired", reason: "no_patient", patients: [] })

          fake.addAccount(ALICE, {
            password: PASSWORD,
            patients: [{ firstName: "A", lastName: "B", zone: ZONE, sensor: sensorAroundT0() }]
          })
          yield* connectLibre(alice, ALICE, PASSWORD)
          fake.removePatient(ALICE, fake.patientIds(ALICE)[0]!)
          const gone = yield* Effect.flip(sync(alice))
          assert.strictEqual(gone._tag, "NeedsReauthorization")
          assert.include(gone.message, "couldNotLoadPatient")
          assert.strictEqual((yield* connectionOf(alice)).status, "needs_reauthorization")
        })
      )
  )
})

describe("LibreLinkUp credentials and tickets", () => {
  it.effect(
    "credentials and tickets are stored encrypted: neither password, username nor token is in the database",
    () =>
      setUp(
        (fake) =>
          Effect.gen(function* () {
            fake.addAccount(ALICE, {
              password: PASSWORD,
              patients: [{ firstName: "A", lastName: "B", zone: ZONE, sensor: sensorAroundT0() }]
            })
            yield* connectLibre(alice, ALICE, PASSWORD)
            assert.isAbove((yield* sync(alice)).inserted, 100)
            const { db, filename } = yield* SqliteDatabase
            const rows = db.prepare("SELECT * FROM connections").all()
            const credentials = String((rows[0] as { credentials: unknown }).credentials)
            assert.match(credentials, /^v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/)
            db.exec("PRAGMA wal_checkpoint(FULL)")
            const file = readFileSync(filename, "latin1")
            for (const secret of [PASSWORD, ALICE, ...fake.issuedTokens()]) {
              assert.notInclude(JSON.stringify(rows), secret)
              assert.notInclude(file, secret)
            }
            const cipher = yield* TokenCipher
            const opened = JSON.parse(yield* cipher.open(credentials, `libre-link-up:${alice}`))
            assert.deepInclude(opened, { username: ALICE, password: PASSWORD, patientId: fake.patientIds(ALICE)[0] })
            assert.strictEqual(
              (yield* Effect.flip(cipher.open(credentials, `libre-link-up:${bob}`))).reason,
              "tampered"
            )
          }),
        { stores: sqliteStoresLayer() }
      )
  )

  it.effect("another replica (or a restart) reads with the stored ticket, without a login", () =>
    Effect.gen(function* () {
      const clock = sharedClock(T0)
      yield* clock.start
      const fake = yield* fakeLibreLinkUp({ now: clock.now })
      const sensor = sensorAroundT0()
      fake.addAccount(ALICE, {
        password: PASSWORD,
        region: "eu",
        patients: [{ firstName: "A", lastName: "B", zone: ZONE, sensor }]
      })
      yield* Effect.gen(function* () {
        const first = yield* makeLibreLinkUpProvider(libreTestSettings(fake))
        const second = yield* makeLibreLinkUpProvider(libreTestSettings(fake))
        yield* storeLibreConnection(first, alice, ALICE, PASSWORD)
        assert.strictEqual(fake.loginAttempts(ALICE), 2)
        const window = makeWindow(DateTime.makeUnsafe(T0 - 12 * HOUR), DateTime.makeUnsafe(T0))
        const read = yield* second.fetchReadings(alice, window)
        assert.strictEqual(read.readings.length, expectedAfterPolls(sensor, ZONE, [T0]).length)
        assert.strictEqual(fake.loginAttempts(ALICE), 2, "the sealed ticket, at the region it was issued in")
        assert.isTrue(fake.requests.every((request) => request.status !== 401))
      }).pipe(
        Effect.provide(
          Layer.mergeAll(
            InMemoryConnectionStore.layer,
            InMemoryReadingStore.layer,
            testTokenCipher,
            FetchHttpClient.layer,
            testCrypto
          )
        )
      )
    })
  )
})
