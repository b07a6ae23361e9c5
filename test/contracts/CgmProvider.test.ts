import { modelReadings, profileOf, SimulatorProvider } from "@bg-ingest/adapters"
import { CgmProvider, UserId } from "@bg-ingest/domain"
import { Clock, Context, DateTime, Effect, Layer } from "effect"
import { egvSeries, impossibleRecord } from "../fakes/dexcomRecords.ts"
import { fakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { fakeShare } from "../fakes/FakeShareServer.ts"
import { impossibleShareRecord, type ShareFormat, shareSeries } from "../fakes/shareRecords.ts"
import { alignedFiveMinutes, connectDirectly, dexcomProviderLayer } from "../support/dexcom.ts"
import { shareProviderLayer, storeShareConnection } from "../support/dexcomShare.ts"
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
