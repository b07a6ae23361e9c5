import {
  CgmProvider,
  cannotTellChanges,
  InvalidProviderResponse,
  isBeyondReach,
  noReadings,
  ProviderId,
  type ProviderLimits,
  type SiteAccess,
  SiteRefused,
  type TimeWindow,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Digest } from "effect/crypto"
import { makeCredentialVault } from "../provider-credentials/CredentialVault.ts"
import { makeNightscoutClient, type NightscoutSite, siteBaseUrl } from "./NightscoutClient.ts"
import { readingsOfEntries } from "./NightscoutNormalize.ts"
import type { NightscoutSettings } from "./NightscoutSettings.ts"

export const NIGHTSCOUT_PROVIDER_ID = ProviderId.make("nightscout")

export const nightscoutLimits: ProviderLimits = {
  // A day is one or two pages of entries: a backfill saves its cursor every day it has fetched.
  maxWindow: Duration.days(1),
  maxHistory: Option.none(),
  // Phones upload their backlog when they are back online, and transmitters backfill up to 24 hours late; API v1
  // cannot say what arrived since a time, so each poll reads the day before the newest stored reading again.
  lateDataOverlap: Duration.hours(24),
  minPollInterval: Duration.minutes(5)
}

/** Pages of one window; a window holding more entries than this is not a real site's. */
const MAX_PAGES = 50

/** What is sealed into `Connection.credentials`: the site and its credential (the API secret as its SHA-1). */
const StoredSite = Schema.Struct({
  baseUrl: Schema.String,
  token: Schema.optional(Schema.String),
  secretSha1: Schema.optional(Schema.String)
})

const numericDate = (entry: unknown): number | undefined => {
  const date = (entry as { readonly date?: unknown } | null)?.date
  const value = typeof date === "string" ? Number(date) : date
  return typeof value === "number" && Number.isFinite(value) ? value : undefined
}

/**
 * A user's own Nightscout site (its REST API v1; docs/nightscout.md) as a `CgmProvider`. The user connects it with
 * its URL and a read token or the API secret (`siteLogin`); both are sealed by the `TokenCipher` into the
 * connection. Every request goes only to an address the `SitePolicy` allows, checked again right before it is sent.
 */
export const makeNightscoutProvider = Effect.fnUntraced(function* (settings: NightscoutSettings) {
  const provider = NIGHTSCOUT_PROVIDER_ID
  const vault = yield* makeCredentialVault(provider, StoredSite, { what: "Nightscout site", reconnect: "connect it" })
  const digest = yield* Digest.Digest
  const client = makeNightscoutClient(provider, settings)

  const verify = Effect.fn("NightscoutProvider.verify")(function* (userId: UserId, access: SiteAccess) {
    const parsed = URL.parse(access.url)
    if (parsed === null) {
      return yield* new SiteRefused({ provider, reason: "not_a_site", message: "The site's address is not a URL" })
    }
    const secret = Redacted.value(access.credential.value)
    const site: NightscoutSite =
      access.credential.kind === "token"
        ? { baseUrl: siteBaseUrl(access.url), token: secret }
        : {
            baseUrl: siteBaseUrl(access.url),
            secretSha1: yield* digest.digestHex(Digest.sha1, new TextEncoder().encode(secret))
          }
    yield* client.verify(site)
    return yield* vault.seal(userId, site)
  })

  /**
   * Every SGV entry of the window, read newest first page by page: Nightscout answers the newest `count` entries
   * of a query, so the next page ends where the oldest entry received starts. A short page is the last; the
   * pages together hold at most `maxWindowBytes`.
   */
  const entriesOf = Effect.fnUntraced(function* (site: NightscoutSite, window: TimeWindow) {
    const from = DateTime.toEpochMillis(window.from)
    let until = DateTime.toEpochMillis(window.to)
    const entries: Array<unknown> = []
    let bytes = 0
    for (let page = 1; ; page++) {
      const answer = yield* client.entries(site, from, until, settings.pageSize)
      const received = answer.entries
      bytes += answer.bytes
      if (bytes > settings.maxWindowBytes) {
        return yield* new InvalidProviderResponse({
          provider,
          message: `The site's entries for one day exceed ${settings.maxWindowBytes} bytes, more than a real site's`
        })
      }
      entries.push(...received)
      if (received.length < settings.pageSize) return entries
      const oldest = Math.min(...received.map(numericDate).filter((date) => date !== undefined))
      if (!(oldest < until) || page === MAX_PAGES) {
        return yield* new InvalidProviderResponse({
          provider,
          message: `The site answered more than ${MAX_PAGES} pages of ${settings.pageSize} entries for one day, or pages that do not move back in time`
        })
      }
      until = oldest
    }
  })

  const fetchReadings = Effect.fn("NightscoutProvider.fetchReadings")(function* (userId: UserId, window: TimeWindow) {
    if (yield* isBeyondReach(nightscoutLimits, window)) return noReadings
    const site = yield* vault.read(userId)
    const entries = yield* entriesOf(site, window)
    return yield* readingsOfEntries(provider, userId, entries, window, yield* Clock.currentTimeMillis)
  })

  return CgmProvider.of({
    id: provider,
    limits: nightscoutLimits,
    // API v1 says nothing about a user's entries without reading them: the sync reads from its cursor to now.
    changes: cannotTellChanges,
    fetchReadings,
    siteLogin: { verify }
  })
})

export const NightscoutProvider = {
  make: makeNightscoutProvider,
  /** Needs a `ConnectionStore`, a `TokenCipher` and a `Digest`; it calls sites itself, through its address checks. */
  layer: (settings: NightscoutSettings) => Layer.effect(CgmProvider, makeNightscoutProvider(settings))
} as const
