import { TokenCipher } from "@bg-ingest/adapters/crypto"
import { InMemoryConnectionStore } from "@bg-ingest/adapters/memory"
import {
  developmentSitePolicy,
  makeNightscoutSettings,
  NIGHTSCOUT_PROVIDER_ID,
  NightscoutProvider,
  type NightscoutSettings
} from "@bg-ingest/adapters/nightscout"
import { type CgmProviderShape, ConnectionStore, newConnection, type SiteAccess, type UserId } from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Redacted } from "effect"
import { TEST_TOKEN_KEY } from "./dexcom.ts"

/** Settings for a fake site on loopback: development's policy, short timeouts, small pages (so paging happens). */
export const nightscoutTestSettings = (overrides: Partial<NightscoutSettings> = {}) =>
  makeNightscoutSettings({ policy: developmentSitePolicy, pageSize: 100, ...overrides })

/** The provider with an in-memory `ConnectionStore` and the test cipher, both exposed to the test. */
export const nightscoutProviderLayer = (overrides: Partial<NightscoutSettings> = {}) =>
  NightscoutProvider.layer(nightscoutTestSettings(overrides)).pipe(
    Layer.provideMerge(Layer.mergeAll(InMemoryConnectionStore.layer, TokenCipher.layer(TEST_TOKEN_KEY)))
  )

export const tokenAccess = (url: string, token: string): SiteAccess => ({
  url,
  credential: { kind: "token", value: Redacted.make(token) }
})

export const secretAccess = (url: string, secret: string): SiteAccess => ({
  url,
  credential: { kind: "api_secret", value: Redacted.make(secret) }
})

/** Verifies the site with one call and stores an active connection holding it, without `Connect`. */
export const storeSiteConnection = Effect.fnUntraced(function* (
  provider: CgmProviderShape,
  userId: UserId,
  access: SiteAccess,
  backfillDays = 2
) {
  const connections = yield* ConnectionStore
  const credentials = yield* provider.siteLogin!.verify(userId, access)
  const now = yield* DateTime.now
  yield* connections.upsert(
    newConnection({
      userId,
      provider: NIGHTSCOUT_PROVIDER_ID,
      credentials,
      backfillFrom: DateTime.subtract(now, { days: backfillDays }),
      now
    })
  )
})
