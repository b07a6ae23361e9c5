import { modelReadings, profileOf, SimulatorProvider } from "@bg-ingest/adapters"
import { CgmProvider, UserId } from "@bg-ingest/domain"
import { Clock, Context, DateTime, Effect, Layer } from "effect"
import { egvSeries, impossibleRecord } from "../fakes/dexcomRecords.ts"
import { fakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { fakeLibreLinkUp } from "../fakes/FakeLibreLinkUpServer.ts"
import { fakeNightscout } from "../fakes/FakeNightscoutSite.ts"
import { fakeShare } from "../fakes/FakeShareServer.ts"
import { isStorable, type LibreUnit, libreSensor } from "../fakes/libreRecords.ts"
import { nightscoutSeries } from "../fakes/nightscoutEntries.ts"
import { impossibleShareRecord, type ShareFormat, shareSeries } from "../fakes/shareRecords.ts"
import { alignedFiveMinutes, connectDirectly, dexcomProviderLayer } from "../support/dexcom.ts"
import { shareProviderLayer, storeShareConnection } from "../support/dexcomShare.ts"
import { libreProviderLayer, storeLibreConnection } from "../support/libreLinkUp.ts"
import { nightscoutProviderLayer, storeSiteConnection, tokenAccess } from "../support/nightscoutProvider.ts"
import { cgmProviderContract } from "./CgmProviderContract.ts"

const simulatorUser = UserId.make("demo-1")
const simulatorWindow = Effect.map(DateTime.now, (now) => ({ from: DateTime.subtract(now, { days: 2 }), to: now }))

cgmProviderContract("simulator", {
  makeLayer: () => SimulatorProvider.layer,
  userWithData: simulatorUser,
  dataWindow: simulatorWindow,
  // The simulator's own model says what its sensor measured in the window.
  expected: Effect.map(simulatorWindow, ({ from, to }) => {
    const records = modelReadings(
      profileOf(simulatorUser),
      DateTime.toEpochMillis(from) / 1000,
      DateTime.toEpochMillis(to) / 1000
    )
    const withValue = records.filter((record) => record.value !== null).length
    return { readings: withValue, skippedWithoutValue: records.length - withValue }
  }),
  tells: "span"
})

/** What a fake-server harness knows: its window and what the fake holds in it. */
class FakeHarness extends Context.Service<
  FakeHarness,
  {
    readonly window: { readonly from: DateTime.Utc; readonly to: DateTime.Utc }
    readonly expected: { readonly readings: number; readonly skippedWithoutValue: number }
  }
>()("test/contracts/FakeHarness") {}

const fromHarness = {
  dataWindow: FakeHarness.use((harness) => Effect.succeed(harness.window)),
  expected: FakeHarness.use((harness) => Effect.succeed(harness.expected))
}

/** The fake's own clock: the test's. */
const fakeClock = Effect.map(Effect.service(Clock.Clock), (clock) => () => clock.currentTimeMillisUnsafe())

const dexcomUser = UserId.make("dexcom-contract-user")

cgmProviderContract("dexcom (fake server)", {
  makeLayer: () =>
    Layer.unwrap(
      Effect.gen(function* () {
        const fake = yield* fakeDexcom({ now: yield* fakeClock })
        const now = yield* Clock.currentTimeMillis
        const start = alignedFiveMinutes(now - 2 * 86_400_000)
        const series = egvSeries({
          start,
          count: 500,
          nullEvery: 13,
          highLowEvery: 17,
          displayOffset: "-06:59:59",
          unknownFields: true
        })
        fake.addUser("SandboxUser1", { records: [...series.records, impossibleRecord(start / 1000 + 150)] })
        const window = { from: DateTime.makeUnsafe(start), to: DateTime.makeUnsafe(start + 500 * 300_000) }
        const expected = {
          readings: series.expected.length,
          skippedWithoutValue: series.records.filter((record) => record.value === null).length
        }
        return Layer.mergeAll(
          Layer.effectDiscard(connectDirectly(fake, dexcomUser, "SandboxUser1")).pipe(
            Layer.provideMerge(dexcomProviderLayer(fake))
          ),
          Layer.succeed(FakeHarness, { window, expected })
        )
      })
    ),
  userWithData: dexcomUser,
  ...fromHarness,
  tells: "changes-since"
})

const shareUser = UserId.make("share-contract-user")

for (const format of ["modern", "legacy"] satisfies ReadonlyArray<ShareFormat>) {
  cgmProviderContract(`dexcom-share (fake server, ${format} format)`, {
    makeLayer: () =>
      Layer.unwrap(
        Effect.gen(function* () {
          const fake = yield* fakeShare({ now: yield* fakeClock })
          const now = yield* Clock.currentTimeMillis
          // Share keeps the last 24 hours: the data ends well before now and starts well after now − 24 h.
          const start = Math.floor((now - 20 * 3_600_000) / 1000) * 1000 + 17_000
          const series = shareSeries({ start, count: 200, nullEvery: 13, highLowEvery: 17, wtOffsetEvery: 7 })
          fake.addAccount("contract@example.org", {
            password: "correct horse battery",
            records: [...series.records, impossibleShareRecord(start + 150_007)],
            format
          })
          const window = { from: DateTime.makeUnsafe(start), to: DateTime.makeUnsafe(start + 200 * 300_000) }
          const expected = {
            readings: series.expected.length,
            skippedWithoutValue: series.records.filter((record) => record.value === null).length
          }
          return Layer.mergeAll(
            Layer.effectDiscard(
              CgmProvider.use((provider) =>
                storeShareConnection(provider, shareUser, "contract@example.org", "correct horse battery")
              )
            ).pipe(Layer.provideMerge(shareProviderLayer(fake))),
            Layer.succeed(FakeHarness, { window, expected })
          )
        })
      ),
    userWithData: shareUser,
    ...fromHarness,
    // Share has no call that tells the span of an account's data, or what changed.
    tells: "nothing"
  })
}

const nightscoutUser = UserId.make("nightscout-contract-user")

cgmProviderContract("nightscout (fake site, under a path, read token)", {
  makeLayer: () =>
    Layer.unwrap(
      Effect.gen(function* () {
        const fake = yield* fakeNightscout({
          readTokens: ["reader-0123456789abcdef"],
          basePath: "/ns",
          defaultRole: "denied",
          now: yield* fakeClock
        })
        const now = yield* Clock.currentTimeMillis
        const start = Math.floor((now - 30 * 3_600_000) / 1000) * 1000
        const series = nightscoutSeries({
          start,
          count: 300,
          errorCodeEvery: 11,
          mbgEvery: 7,
          duplicateEvery: 9,
          stringValueEvery: 8
        })
        fake.addEntries([
          ...series.entries,
          { _id: "65aaaaaaaaaaaaaaaaaaaaaa", type: "sgv", sgv: 900, date: start + 150_000 }
        ])
        const window = { from: DateTime.makeUnsafe(start), to: DateTime.makeUnsafe(start + 300 * 300_000) }
        // Entries with an error code (a sensor's "no value"; the site counts each entry, duplicates too) and meter
        // entries are not readings.
        const expected = {
          readings: series.expected.length,
          skippedWithoutValue: series.entries.filter((entry) => entry.type === "sgv" && Number(entry.sgv) === 5).length
        }
        return Layer.mergeAll(
          Layer.effectDiscard(
            CgmProvider.use((provider) =>
              storeSiteConnection(provider, nightscoutUser, tokenAccess(`${fake.url}/`, "reader-0123456789abcdef"))
            )
          ).pipe(Layer.provideMerge(nightscoutProviderLayer())),
          Layer.succeed(FakeHarness, { window, expected })
        )
      })
    ),
  userWithData: nightscoutUser,
  ...fromHarness,
  tells: "nothing"
})

const libreUser = UserId.make("libre-contract-user")

for (const unit of ["mg/dL", "mmol/L"] satisfies ReadonlyArray<LibreUnit>) {
  cgmProviderContract(`libre-link-up (fake server, a ${unit} patient in another region)`, {
    makeLayer: () =>
      Layer.unwrap(
        Effect.gen(function* () {
          const fake = yield* fakeLibreLinkUp({ now: yield* fakeClock })
          const now = yield* Clock.currentTimeMillis
          // 11 hours of a sensor up to now: history up to 15 minutes ago, and the current reading.
          const start = Math.floor((now - 11 * 3_600_000) / 1000) * 1000 + 41_000
          const sensor = libreSensor({
            start,
            count: 11 * 60 - 1,
            nullEvery: 13,
            highLowEvery: 17,
            impossibleEvery: 19
          })
          fake.addAccount("follower@example.org", {
            password: "correct horse battery",
            region: "eu2",
            patients: [{ firstName: "Ada", lastName: "Example", zone: "Europe/London", unit, sensor }]
          })
          const visibleHistory = sensor.history.filter((point) => point.epochMillis <= now - 15 * 60_000)
          const expected = {
            readings: visibleHistory.filter(isStorable).length + 1,
            skippedWithoutValue: visibleHistory.filter((point) => point.valueMgDl === null).length
          }
          const window = { from: DateTime.makeUnsafe(start - 60_000), to: DateTime.makeUnsafe(now + 1000) }
          return Layer.mergeAll(
            Layer.effectDiscard(
              CgmProvider.use((provider) =>
                storeLibreConnection(provider, libreUser, "follower@example.org", "correct horse battery")
              )
            ).pipe(Layer.provideMerge(libreProviderLayer(fake))),
            Layer.succeed(FakeHarness, { window, expected })
          )
        })
      ),
    userWithData: libreUser,
    ...fromHarness,
    tells: "nothing"
  })
}
