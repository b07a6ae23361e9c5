import { SimulatorProvider } from "@bg-ingest/adapters"
import { UserId } from "@bg-ingest/domain"
import { Clock, Context, DateTime, Effect, Layer } from "effect"
import { egvSeries, impossibleRecord } from "../fakes/dexcomRecords.ts"
import { fakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { alignedFiveMinutes, connectDirectly, dexcomProviderLayer } from "../support/dexcom.ts"
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
