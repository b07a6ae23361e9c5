import { SimulatorProvider } from "@bg-ingest/adapters"
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

cgmProviderContract("simulator", {
  makeLayer: () => SimulatorProvider.layer,
  userWithData: UserId.make("demo-1"),
  dataWindow: Effect.map(DateTime.now, (now) => ({ from: DateTime.subtract(now, { days: 2 }), to: now }))
})

class DexcomHarness extends Context.Service<
  DexcomHarness,
  { readonly window: { readonly from: DateTime.Utc; readonly to: DateTime.Utc }; readonly expected: number }
>()("test/DexcomHarness") {}

const dexcomUser = UserId.make("dexcom-contract-user")

cgmProviderContract("dexcom (fake server)", {
  makeLayer: () =>
    Layer.unwrap(
      Effect.gen(function* () {
        const fake = yield* fakeDexcom()
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
        const provider = dexcomProviderLayer(fake)
        return Layer.mergeAll(
          Layer.effectDiscard(connectDirectly(fake, dexcomUser, "SandboxUser1")).pipe(Layer.provideMerge(provider)),
          Layer.succeed(DexcomHarness, { window, expected: series.expected.length })
        )
      })
    ),
  userWithData: dexcomUser,
  dataWindow: DexcomHarness.use((harness) => Effect.succeed(harness.window)),
  expectedReadings: DexcomHarness.use((harness) => Effect.succeed(harness.expected))
})

class ShareHarness extends Context.Service<
  ShareHarness,
  { readonly window: { readonly from: DateTime.Utc; readonly to: DateTime.Utc }; readonly expected: number }
>()("test/ShareHarness") {}

const shareUser = UserId.make("share-contract-user")

for (const format of ["modern", "legacy"] satisfies ReadonlyArray<ShareFormat>) {
  cgmProviderContract(`dexcom-share (fake server, ${format} format)`, {
    makeLayer: () =>
      Layer.unwrap(
        Effect.gen(function* () {
          const fake = yield* fakeShare()
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
          return Layer.mergeAll(
            Layer.effectDiscard(
              CgmProvider.use((provider) =>
                storeShareConnection(provider, shareUser, "contract@example.org", "correct horse battery")
              )
            ).pipe(Layer.provideMerge(shareProviderLayer(fake))),
            Layer.succeed(ShareHarness, { window, expected: series.expected.length })
          )
        })
      ),
    userWithData: shareUser,
    dataWindow: ShareHarness.use((harness) => Effect.succeed(harness.window)),
    expectedReadings: ShareHarness.use((harness) => Effect.succeed(harness.expected))
  })
}

class NightscoutHarness extends Context.Service<
  NightscoutHarness,
  { readonly window: { readonly from: DateTime.Utc; readonly to: DateTime.Utc }; readonly expected: number }
>()("test/NightscoutHarness") {}

const nightscoutUser = UserId.make("nightscout-contract-user")

cgmProviderContract("nightscout (fake site, under a path, read token)", {
  makeLayer: () =>
    Layer.unwrap(
      Effect.gen(function* () {
        const fake = yield* fakeNightscout({
          readTokens: ["reader-0123456789abcdef"],
          basePath: "/ns",
          defaultRole: "denied"
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
        return Layer.mergeAll(
          Layer.effectDiscard(
            CgmProvider.use((provider) =>
              storeSiteConnection(provider, nightscoutUser, tokenAccess(`${fake.url}/`, "reader-0123456789abcdef"))
            )
          ).pipe(Layer.provideMerge(nightscoutProviderLayer())),
          Layer.succeed(NightscoutHarness, { window, expected: series.expected.length })
        )
      })
    ),
  userWithData: nightscoutUser,
  dataWindow: NightscoutHarness.use((harness) => Effect.succeed(harness.window)),
  expectedReadings: NightscoutHarness.use((harness) => Effect.succeed(harness.expected))
})

class LibreHarness extends Context.Service<
  LibreHarness,
  { readonly window: { readonly from: DateTime.Utc; readonly to: DateTime.Utc }; readonly expected: number }
>()("test/LibreHarness") {}

const libreUser = UserId.make("libre-contract-user")

for (const unit of ["mg/dL", "mmol/L"] satisfies ReadonlyArray<LibreUnit>) {
  cgmProviderContract(`libre-link-up (fake server, a ${unit} patient in another region)`, {
    makeLayer: () =>
      Layer.unwrap(
        Effect.gen(function* () {
          const fake = yield* fakeLibreLinkUp()
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
          const expected = visibleHistory.filter(isStorable).length + 1
          const window = { from: DateTime.makeUnsafe(start - 60_000), to: DateTime.makeUnsafe(now + 1000) }
          return Layer.mergeAll(
            Layer.effectDiscard(
              CgmProvider.use((provider) =>
                storeLibreConnection(provider, libreUser, "follower@example.org", "correct horse battery")
              )
            ).pipe(Layer.provideMerge(libreProviderLayer(fake))),
            Layer.succeed(LibreHarness, { window, expected })
          )
        })
      ),
    userWithData: libreUser,
    dataWindow: LibreHarness.use((harness) => Effect.succeed(harness.window)),
    expectedReadings: LibreHarness.use((harness) => Effect.succeed(harness.expected))
  })
}
