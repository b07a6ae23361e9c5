import { Config, Duration } from "effect"
import type * as Environment from "../environment/index.ts"
import {
  developmentSitePolicy,
  lookupAll,
  type SitePolicy,
  type SiteResolver,
  strictSitePolicy
} from "./SiteAddress.ts"

export interface NightscoutSettings {
  /** Which site addresses may be called: strict outside development (https, public addresses only). */
  readonly policy: SitePolicy
  readonly resolve: SiteResolver
  /** One request, connection to last byte. */
  readonly requestTimeout: Duration.Duration
  /** Entries per page: a page is one request, read newest first. */
  readonly pageSize: number
  /** The largest answer read (a full page of a real site's entries is well under 1 MB). */
  readonly maxAnswerBytes: number
  /**
   * The most the pages of one window (a day) may hold together: a site is the user's and may answer anything, and a
   * sync holds a window's entries until it has read them all. A real site's day is a few MB at most.
   */
  readonly maxWindowBytes: number
  /** The wait after a 429 without `Retry-After`. */
  readonly rateLimitBackoff: Duration.Duration
}

export const makeNightscoutSettings = (overrides: Partial<NightscoutSettings> = {}): NightscoutSettings => ({
  policy: strictSitePolicy,
  resolve: lookupAll,
  requestTimeout: Duration.seconds(30),
  pageSize: 1000,
  maxAnswerBytes: 4 * 1024 * 1024,
  maxWindowBytes: 8 * 1024 * 1024,
  rateLimitBackoff: Duration.minutes(5),
  ...overrides
})

export interface NightscoutConfigOptions {
  /** Development lets the service call plain http and non-public addresses (a fake site on loopback); strict never. */
  readonly strictness: Environment.Strictness
}

/**
 * The `nightscout` provider's part of the environment. It reads no variable: every site is the user's, given when
 * they connect, and which sites may be called follows only from the service's strictness, so that no setting can
 * open the private network to user-supplied URLs outside development.
 */
export const nightscoutConfig = (options: NightscoutConfigOptions): Config.Config<NightscoutSettings> =>
  Config.succeed(
    makeNightscoutSettings({
      policy: options.strictness._tag === "Strict" ? strictSitePolicy : developmentSitePolicy
    })
  )
