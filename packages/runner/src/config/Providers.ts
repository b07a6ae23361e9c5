import type { TokenCipher } from "@bg-ingest/adapters/crypto"
import { dexcomConfig, makeDexcomProvider } from "@bg-ingest/adapters/dexcom"
import { dexcomShareConfig, makeDexcomShareProvider } from "@bg-ingest/adapters/dexcom-share"
import type { Strictness } from "@bg-ingest/adapters/environment"
import { libreLinkUpConfig, makeLibreLinkUpProvider } from "@bg-ingest/adapters/libre-link-up"
import { makeNightscoutProvider, nightscoutConfig } from "@bg-ingest/adapters/nightscout"
import { makeSimulatorProvider } from "@bg-ingest/adapters/simulator"
import type { CallBudget, CgmProviderShape, ConnectionStore, ReadingStore } from "@bg-ingest/domain"
import { Config, Effect } from "effect"
import type { HttpClient } from "effect/http"
import type { CryptoServices } from "../Crypto.ts"

/**
 * What a provider may need from the service: where connections and readings are kept, the call budget all
 * replicas share, the cipher of credentials, `fetch`, and `effect/crypto`.
 */
export type ProviderNeeds =
  | ConnectionStore
  | ReadingStore
  | CallBudget
  | TokenCipher
  | HttpClient.HttpClient
  | CryptoServices

/** One provider the service can run: its part of the environment, and the provider made from what it decoded. */
export type ProviderEntry<Settings> = {
  /** Its settings, decoded only when it is one of `PROVIDERS`. */
  readonly config: (options: { readonly strictness: Strictness }) => Config.Config<Settings>
  /**
   * In development with `PROVIDERS` unset: on when one of `variables` is set, with `hint` in the start-up note
   * saying how to turn it on. Without it, a provider is only on when `PROVIDERS` names it.
   */
  readonly turnedOnBy?: { readonly variables: ReadonlyArray<string>; readonly hint: string }
  /** For a developer's machine only: refused in staging and production. */
  readonly developmentOnly?: true
} & (
  | {
      /** It keeps users' credentials, sealed by the `TokenCipher` (`TOKEN_ENCRYPTION_KEY`), and calls out over HTTP. */
      readonly keepsCredentials: true
      readonly make: (settings: Settings) => Effect.Effect<CgmProviderShape, never, ProviderNeeds>
    }
  | {
      readonly keepsCredentials: false
      readonly make: (settings: Settings) => Effect.Effect<CgmProviderShape>
    }
)

const entry = <Settings>(provider: ProviderEntry<Settings>): ProviderEntry<Settings> => provider

/**
 * Every provider the service can run, by the id `PROVIDERS` names it with: adding a provider is one line here
 * (its adapter exports the `config` and the `make`).
 */
export const providerRegistry = {
  simulator: entry({
    config: () => Config.succeed({}),
    make: () => Effect.succeed(makeSimulatorProvider()),
    keepsCredentials: false,
    developmentOnly: true
  }),
  dexcom: entry({
    config: dexcomConfig,
    make: makeDexcomProvider,
    keepsCredentials: true,
    turnedOnBy: { variables: ["DEXCOM_CLIENT_ID"], hint: "DEXCOM_CLIENT_ID and friends to connect Dexcom accounts" }
  }),
  "dexcom-share": entry({
    config: dexcomShareConfig,
    make: makeDexcomShareProvider,
    keepsCredentials: true,
    turnedOnBy: {
      variables: ["DEXCOM_SHARE_REGION", "DEXCOM_SHARE_BASE_URL"],
      hint: "DEXCOM_SHARE_REGION for Dexcom Share"
    }
  }),
  "libre-link-up": entry({
    config: libreLinkUpConfig,
    make: makeLibreLinkUpProvider,
    keepsCredentials: true,
    turnedOnBy: {
      variables: ["LIBRE_LINK_UP_REGION", "LIBRE_LINK_UP_BASE_URL"],
      hint: "LIBRE_LINK_UP_REGION for FreeStyle Libre through LibreLinkUp"
    }
  }),
  // Users' own sites: it reads no variable, so only PROVIDERS turns it on.
  nightscout: entry({ config: nightscoutConfig, make: makeNightscoutProvider, keepsCredentials: true })
} as const

export type ProviderKind = keyof typeof providerRegistry
export const ProviderKinds = Object.keys(providerRegistry) as ReadonlyArray<ProviderKind>

type SettingsOf<K extends ProviderKind> = (typeof providerRegistry)[K] extends ProviderEntry<infer S> ? S : never

/** Each provider's settings when it is on, `null` when it is off. */
export type ProviderSettings = { readonly [K in ProviderKind]: SettingsOf<K> | null }

/**
 * The providers that are on, made from their settings; `needs` is empty when none keeps credentials (then the
 * service needs no cipher, nor a development key in `DATA_DIR`).
 */
export const makeProviders = (kinds: ReadonlyArray<ProviderKind>, settings: ProviderSettings) => {
  // The registry pairs each kind's `make` with the settings its own `config` decoded.
  const entries = kinds.map((kind) => [providerRegistry[kind] as ProviderEntry<unknown>, settings[kind]] as const)
  const plain = entries.flatMap(([entry, decoded]) => (entry.keepsCredentials ? [] : [entry.make(decoded)]))
  const keeping = entries.flatMap(([entry, decoded]) => (entry.keepsCredentials ? [entry.make(decoded)] : []))
  return {
    plain: Effect.all(plain),
    keepsCredentials: keeping.length > 0,
    keeping: Effect.all(keeping)
  }
}
