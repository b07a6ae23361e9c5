import { Config, Duration, Option, Result } from "effect"
import * as Environment from "../environment/index.ts"

/** The global entry point: it answers as the US region and redirects other accounts to their own. */
export const LIBRE_LINK_UP_GLOBAL_URL = "https://api.libreview.io"

/**
 * LibreLinkUp's regional servers. An account lives in one region; a login elsewhere answers a redirect to it, which
 * the adapter follows (once), so the region is only a shortcut that saves that redirect.
 */
export const LIBRE_LINK_UP_REGIONS = {
  us: "https://api-us.libreview.io",
  eu: "https://api-eu.libreview.io",
  eu2: "https://api-eu2.libreview.io",
  de: "https://api-de.libreview.io",
  fr: "https://api-fr.libreview.io",
  ca: "https://api-ca.libreview.io",
  au: "https://api-au.libreview.io",
  ap: "https://api-ap.libreview.io",
  ae: "https://api-ae.libreview.io",
  jp: "https://api-jp.libreview.io",
  la: "https://api-la.libreview.io",
  ru: "https://api.libreview.ru",
  cn: "https://api-cn.myfreestyle.cn"
} as const
export type LibreLinkUpRegion = keyof typeof LIBRE_LINK_UP_REGIONS
export const LIBRE_LINK_UP_REGION_NAMES = Object.keys(LIBRE_LINK_UP_REGIONS) as ReadonlyArray<LibreLinkUpRegion>

export const isLibreLinkUpRegion = (name: string): name is LibreLinkUpRegion =>
  Object.hasOwn(LIBRE_LINK_UP_REGIONS, name)

/** The app version sent by default: Abbott refuses versions older than its minimum (4.16.0 since October 2025). */
export const LIBRE_LINK_UP_DEFAULT_VERSION = "4.16.0"

const LIBRE_VIEW_HOST = /^api(-[a-z]{2,3}\d?)?\.libreview\.io$/

/**
 * Whether an origin is one of Abbott's LibreLinkUp servers (https, a LibreView host, no port, path or credentials):
 * outside development, passwords and tokens go nowhere else, whatever a redirect or a region map says.
 */
export const isLibreLinkUpOrigin = (text: string): boolean => {
  if (!URL.canParse(text)) return false
  const url = new URL(text)
  if (url.protocol !== "https:" || url.port !== "" || url.username !== "" || url.password !== "") return false
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") return false
  return (
    LIBRE_VIEW_HOST.test(url.hostname) ||
    url.hostname === "api.libreview.ru" ||
    url.hostname === "api-cn.myfreestyle.cn"
  )
}

/** Any http(s) URL without credentials, query or fragment: what development accepts (a fake on loopback). */
const isHttpBase = (text: string): boolean => {
  if (!URL.canParse(text)) return false
  const url = new URL(text)
  return (
    (url.protocol === "https:" || url.protocol === "http:") &&
    url.username === "" &&
    url.password === "" &&
    url.search === "" &&
    url.hash === ""
  )
}

export interface LibreLinkUpSettings {
  /** Where logins start, without a trailing slash: a region's server, the global entry point, or an override. */
  readonly baseUrl: string
  /** Development only: any http(s) server may be used, including the regional servers a redirect names. */
  readonly allowAnyHost: boolean
  /** The `product` header: the app the calls present themselves as. */
  readonly product: "llu.android" | "llu.ios"
  /** The `version` header; raised in memory (with a warning) when LibreLinkUp names a newer minimum. */
  readonly version: string
  /** One attempt of one call. */
  readonly requestTimeout: Duration.Duration
  /** Retries of a read after a 5xx, a timeout or a reset. Logins are never retried. */
  readonly retries: number
  readonly retryBaseDelay: Duration.Duration
  /** The wait after a 429 without `Retry-After`, doubling per 429 in a row up to `rateLimitBackoffMax`. */
  readonly rateLimitBackoffBase: Duration.Duration
  readonly rateLimitBackoffMax: Duration.Duration
  /** After LibreLinkUp refused a username and password, the same pair is not tried again for this long. */
  readonly refusedCredentialsBackoff: Duration.Duration
  /**
   * After LibreLinkUp locked an account, no login of it is tried for the lockout it announced, and at least this
   * long, doubling with each lockout in a row up to `lockedAccountBackoffMax`.
   */
  readonly lockedAccountBackoff: Duration.Duration
  readonly lockedAccountBackoffMax: Duration.Duration
  /** A ticket this close to its expiry is replaced by a login before it is used. */
  readonly ticketRenewalMargin: Duration.Duration
}

export const makeLibreLinkUpSettings = (
  input: Partial<LibreLinkUpSettings> & { readonly region?: LibreLinkUpRegion | undefined } = {}
): LibreLinkUpSettings => {
  const { region, ...rest } = input
  return {
    allowAnyHost: false,
    product: "llu.android",
    version: LIBRE_LINK_UP_DEFAULT_VERSION,
    requestTimeout: Duration.seconds(30),
    retries: 2,
    retryBaseDelay: Duration.millis(500),
    rateLimitBackoffBase: Duration.minutes(1),
    rateLimitBackoffMax: Duration.minutes(30),
    refusedCredentialsBackoff: Duration.minutes(30),
    lockedAccountBackoff: Duration.minutes(15),
    lockedAccountBackoffMax: Duration.hours(6),
    ticketRenewalMargin: Duration.hours(1),
    ...rest,
    baseUrl: (
      rest.baseUrl ?? (region === undefined ? LIBRE_LINK_UP_GLOBAL_URL : LIBRE_LINK_UP_REGIONS[region])
    ).replace(/\/+$/, "")
  }
}

/** `LIBRE_LINK_UP_REGION`: one of the regions, in any case. */
const regionFormat: Environment.Format<LibreLinkUpRegion> = {
  decode: (text) => {
    const name = text.toLowerCase()
    return isLibreLinkUpRegion(name)
      ? Result.succeed(name)
      : Result.fail(`must be one of ${LIBRE_LINK_UP_REGION_NAMES.join(", ")}`)
  }
}

/**
 * `LIBRE_LINK_UP_BASE_URL`, without a trailing slash: any http(s) URL without credentials, query or fragment in
 * development (a fake on loopback); when strict only LibreView's https servers, so that passwords never go anywhere
 * else.
 */
const baseUrlFormat = (strictness: Environment.Strictness): Environment.Format<string> => ({
  decode: (text) => {
    const origin = text.replace(/\/+$/, "")
    if (!isHttpBase(text)) return Result.fail("must be an http(s) URL without credentials, query or fragment")
    if (strictness._tag === "Strict" && !isLibreLinkUpOrigin(origin)) {
      return Result.fail(
        `must be an https LibreView server (${LIBRE_LINK_UP_GLOBAL_URL}, https://api-<region>.libreview.io, ...) ${strictness.because}`
      )
    }
    return Result.succeed(origin)
  }
})

/** `LIBRE_LINK_UP_VERSION`: an app version such as 4.16.0. */
const versionFormat: Environment.Format<string> = {
  decode: (text) =>
    /^\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(text)
      ? Result.succeed(text)
      : Result.fail("must be an app version such as 4.16.0")
}

export interface LibreLinkUpConfigOptions {
  /** Strict: `LIBRE_LINK_UP_BASE_URL` may only name LibreView's https servers. */
  readonly strictness: Environment.Strictness
}

/**
 * LibreLinkUp's part of the environment. Nothing is required: logins start at the global entry point, which
 * redirects each account to its region. `LIBRE_LINK_UP_REGION` starts them at a region's server instead;
 * `LIBRE_LINK_UP_BASE_URL` at any server in development (a fake on loopback, which may then name any server as a
 * region's) and only at LibreView's https servers when strict. Setting both is refused: one would be ignored.
 * `LIBRE_LINK_UP_VERSION` is the app version presented (default 4.16.0, the minimum Abbott enforces since October
 * 2025).
 */
export const libreLinkUpConfig = (options: LibreLinkUpConfigOptions): Config.Config<LibreLinkUpSettings> =>
  Environment.all({
    region: Environment.optional("LIBRE_LINK_UP_REGION", regionFormat),
    baseUrl: Environment.optional("LIBRE_LINK_UP_BASE_URL", baseUrlFormat(options.strictness)),
    version: Environment.withDefault("LIBRE_LINK_UP_VERSION", versionFormat, LIBRE_LINK_UP_DEFAULT_VERSION)
  }).pipe(
    Environment.check(({ region, baseUrl }) =>
      Option.isSome(region) && Option.isSome(baseUrl)
        ? ["Set LIBRE_LINK_UP_REGION or LIBRE_LINK_UP_BASE_URL, not both: the base URL would override the region"]
        : []
    ),
    Config.map(({ region, baseUrl, version }) =>
      makeLibreLinkUpSettings({
        // Only a development override (a fake) may lead elsewhere; the real entry points redirect to real hosts.
        allowAnyHost: options.strictness._tag === "Development" && Option.isSome(baseUrl),
        ...Option.match(region, { onNone: () => ({}), onSome: (found) => ({ region: found }) }),
        ...Option.match(baseUrl, { onNone: () => ({}), onSome: (url) => ({ baseUrl: url }) }),
        version
      })
    )
  )
