import { Context, Effect, Layer, Schema } from "effect"
import type { ProviderId } from "../model/Identifiers.ts"
import type { CgmProviderShape } from "./CgmProvider.ts"

export class UnknownProvider extends Schema.TaggedError<UnknownProvider>()("UnknownProvider", {
  provider: Schema.String,
  message: Schema.String
}) {}

/** The providers this process is configured with, by id. */
export class CgmProviders extends Context.Service<
  CgmProviders,
  {
    readonly ids: ReadonlyArray<ProviderId>
    readonly get: (id: string) => Effect.Effect<CgmProviderShape, UnknownProvider>
  }
>()("@bg-ingest/domain/CgmProviders") {
  static readonly fromProviders = (providers: ReadonlyArray<CgmProviderShape>): CgmProviders["Service"] => {
    const byId = new Map<string, CgmProviderShape>(providers.map((provider) => [provider.id, provider]))
    const ids = providers.map((provider) => provider.id)
    return CgmProviders.of({
      ids,
      get: (id) => {
        const provider = byId.get(id)
        return provider
          ? Effect.succeed(provider)
          : Effect.fail(
              new UnknownProvider({
                provider: id,
                message: `Provider "${id}" is not configured here (configured: ${ids.join(", ") || "none"})`
              })
            )
      }
    })
  }

  static readonly layer = (providers: ReadonlyArray<CgmProviderShape>): Layer.Layer<CgmProviders> =>
    Layer.succeed(CgmProviders, CgmProviders.fromProviders(providers))
}
