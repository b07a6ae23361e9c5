import { Config, Duration, Option, Result } from "effect"
import * as Environment from "../environment/index.ts"

/**
 * Dexcom Share's servers, each with the application id its login expects. An account lives
 * in one region: logging in elsewhere fails like a wrong password, so the region is never guessed.
 */
export const DEXCOM_SHARE_REGIONS = {
  us: { baseUrl: "https://share2.dexcom.com", applicationId: "d89443d2-327c-4a6f-89e5-496bbb0317db" },
  ous: { baseUrl: "https://shareous1.dexcom.com", applicationId: "d89443d2-327c-4a6f-89e5-496bbb0317db" },
  jp: { baseUrl: "https://share.dexcom.jp", applicationId: "d8665ade-9673-4e27-9ff6-92db4ce13d13" }
} as const
export type DexcomShareRegion = keyof typeof DEXCOM_SHARE_REGIONS
export const DEXCOM_SHARE_REGION_NAMES = Object.keys(DEXCOM_SHARE_REGIONS) as ReadonlyArray<DexcomShareRegion>

export interface DexcomShareSettings {
  readonly region: DexcomShareRegion
  /** Origin of the Share server, without a trailing slash (the services live under `/ShareWebServices/Services`). */
  readonly baseUrl: string
  readonly applicationId: string
  /** One attempt of one call. */
  readonly requestTimeout: Duration.Duration
  /** Retries of a glucose read after a 5xx, `SSO_InternalError`, a timeout or a reset. Logins are never retried. */
  readonly retries: number
  readonly retryBaseDelay: Duration.Duration
  /** The wait after a 429 without `Retry-After`, doubling per 429 in a row up to `rateLimitBackoffMax`. */
  readonly rateLimitBackoffBase: Duration.Duration
  readonly rateLimitBackoffMax: Duration.Duration
  /**
   * After Share refused a login, no login of that username is tried for this long, whatever the password (a
   * few wrong passwords in a row lock a Dexcom account); doubled with each refusal in a row, up to
   * `lockedAccountBackoff`.
   */
  readonly refusedUsernameBackoff: Duration.Duration
  /** After Share refused a username and password, the same pair is not tried again for this long. */
  readonly refusedCredentialsBackoff: Duration.Duration
  /** After Share locked an account, no login of that account is tried for this long, whatever the password. */
  readonly lockedAccountBackoff: Duration.Duration
}

/** Settings for a region, or for a base URL override (a fake server) speaking as that region. */
export const makeDexcomShareSettings = (
  input: { readonly region: DexcomShareRegion; readonly baseUrl?: string } & Partial<
    Omit<DexcomShareSettings, "region" | "baseUrl" | "applicationId">
  >
): DexcomShareSettings => ({
  requestTimeout: Duration.seconds(30),
  retries: 3,
  retryBaseDelay: Duration.millis(500),
  rateLimitBackoffBase: Duration.minutes(1),
  rateLimitBackoffMax: Duration.minutes(15),
  refusedUsernameBackoff: Duration.minutes(5),
  refusedCredentialsBackoff: Duration.minutes(30),
  lockedAccountBackoff: Duration.hours(2),
  ...input,
  baseUrl: (input.baseUrl ?? DEXCOM_SHARE_REGIONS[input.region].baseUrl).replace(/\/+$/, ""),
  applicationId: DEXCOM_SHARE_REGIONS[input.region].applicationId
})

const regionOfOrigin = (origin: string): DexcomShareRegion | undefined =>
  DEXCOM_SHARE_REGION_NAMES.find((region) => DEXCOM_SHARE_REGIONS[region].baseUrl === origin)

/** `DEXCOM_SHARE_REGION`: `us`, `ous` (outside the US) or `jp`, in any case. */
const regionFormat: Environment.Format<DexcomShareRegion> = {
  decode: (text) => {
    const region = DEXCOM_SHARE_REGION_NAMES.find((name) => name === text.toLowerCase())
    return region === undefined
      ? Result.fail(`must be one of ${DEXCOM_SHARE_REGION_NAMES.join(", ")}`)
      : Result.succeed(region)
  }
}

/**
 * `DEXCOM_SHARE_BASE_URL`, the origin without a trailing slash: any http(s) URL in development (a fake on
 * loopback); when strict only Share's own hosts, so that passwords never go anywhere else.
 */
const baseUrlFormat = (strictness: Environment.Strictness): Environment.Format<string> => ({
  decode: (text) => {
    const url = URL.parse(text)
    const origin = text.replace(/\/+$/, "")
    if (url === null || (url.protocol !== "https:" && url.protocol !== "http:")) {
      return Result.fail("must be an http(s) URL")
    }
    if (strictness._tag === "Strict" && regionOfOrigin(origin) === undefined) {
      const hosts = DEXCOM_SHARE_REGION_NAMES.map((name) => DEXCOM_SHARE_REGIONS[name].baseUrl).join(", ")
      return Result.fail(`must be one of ${hosts} ${strictness.because}`)
    }
    return Result.succeed(origin)
  }
})

export interface DexcomShareConfigOptions {
  /** Strict: `DEXCOM_SHARE_BASE_URL` may only name one of Share's own hosts. */
  readonly strictness: Environment.Strictness
}

/**
 * Dexcom Share's part of the environment. `DEXCOM_SHARE_REGION` picks the server and its application id;
 * `DEXCOM_SHARE_BASE_URL` may override the server. One of the two is required: a wrong region fails every login,
 * so it is never guessed (a Share host names its own).
 */
export const dexcomShareConfig = (options: DexcomShareConfigOptions): Config.Config<DexcomShareSettings> =>
  Environment.all({
    region: Environment.optional("DEXCOM_SHARE_REGION", regionFormat),
    baseUrl: Environment.optional("DEXCOM_SHARE_BASE_URL", baseUrlFormat(options.strictness))
  }).pipe(
    Config.flatMap(({ region, baseUrl }) => {
      const chosen = Option.orElse(region, () => Option.flatMapNullishOr(baseUrl, regionOfOrigin))
      if (Option.isSome(chosen)) {
        return Config.succeed(
          makeDexcomShareSettings(
            Option.match(baseUrl, {
              onNone: () => ({ region: chosen.value }),
              onSome: (url) => ({ region: chosen.value, baseUrl: url })
            })
          )
        )
      }
      return Option.isNone(baseUrl)
        ? Environment.refuse(
            `DEXCOM_SHARE_REGION is required with the dexcom-share provider (${DEXCOM_SHARE_REGION_NAMES.join(", ")}: the region of the users' Dexcom accounts)`
          )
        : Environment.refuse("DEXCOM_SHARE_REGION is required with a DEXCOM_SHARE_BASE_URL that is not a Share host")
    })
  )
