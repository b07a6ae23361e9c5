import { SimulatorProvider } from "@bg-ingest/adapters"
import { UserId } from "@bg-ingest/domain"
import { DateTime, Effect } from "effect"
import { cgmProviderContract } from "./CgmProviderContract.ts"

cgmProviderContract("simulator", {
  makeLayer: () => SimulatorProvider.layer,
  userWithData: UserId.make("demo-1"),
  dataWindow: Effect.map(DateTime.now, (now) => ({ from: DateTime.subtract(now, { days: 2 }), to: now }))
})
