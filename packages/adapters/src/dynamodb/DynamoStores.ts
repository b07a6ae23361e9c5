import type { CallBudget, ConnectionStore, NightscoutSiteStore, OAuthStateStore, ReadingStore } from "@bg-ingest/domain"
import { Config, Effect, Layer } from "effect"
import { DynamoCallBudget } from "./DynamoCallBudget.ts"
import { DynamoConnectionStore } from "./DynamoConnectionStore.ts"
import type { DynamoDbOptions } from "./DynamoDbClient.ts"
import type { DynamoDbSetupError } from "./DynamoErrors.ts"
import { DynamoNightscoutSiteStore } from "./DynamoNightscoutSiteStore.ts"
import { DynamoOAuthStateStore } from "./DynamoOAuthStateStore.ts"
import { DynamoReadingStore } from "./DynamoReadingStore.ts"
import { TableSetup } from "./TableSetup.ts"

type Stores = ReadingStore | ConnectionStore | OAuthStateStore | NightscoutSiteStore | CallBudget

const stores = Layer.mergeAll(
  DynamoReadingStore.layer,
  DynamoConnectionStore.layer,
  DynamoOAuthStateStore.layer,
  DynamoNightscoutSiteStore.layer,
  DynamoCallBudget.layer
)

/** Every store on one table (set up first) and one SDK client: what the runner provides for `STORE=dynamodb`. */
export const DynamoStores = {
  layer: (options: DynamoDbOptions): Layer.Layer<Stores, DynamoDbSetupError> =>
    stores.pipe(Layer.provide(TableSetup.layerWithClient(options))),
  layerConfig: (options: Config.Wrap<DynamoDbOptions>): Layer.Layer<Stores, DynamoDbSetupError | Config.ConfigError> =>
    stores.pipe(Layer.provide(Layer.unwrap(Effect.map(Config.unwrap(options), TableSetup.layerWithClient))))
} as const
