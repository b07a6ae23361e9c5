import { Duration, Result } from "effect"
import type { AppEnv } from "../dexcom/DexcomSettings.ts"

/**
 * Dexcom Share's servers (guides/dexcom.md §2), each with the application id its login expects. An account lives
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
  refusedCredentialsBackoff: Duration.minutes(30),
  lockedAccountBackoff: Duration.hours(2),
  ...input,
  baseUrl: (input.baseUrl ?? DEXCOM_SHARE_REGIONS[input.region].baseUrl).replace(/\/+$/, ""),
  applicationId: DEXCOM_SHARE_REGIONS[input.region].applicationId
})

export interface DexcomShareEnvironment {
  /** `us`, `ous` (outside the US) or `jp`. */
  readonly DEXCOM_SHARE_REGION?: string | undefined
  /** Overrides the region's host: any http(s) URL in development (a fake on loopback), a Share host elsewhere. */
  readonly DEXCOM_SHARE_BASE_URL?: string | undefined
}

const regionOfOrigin = (origin: string): DexcomShareRegion | undefined =>
  DEXCOM_SHARE_REGION_NAMES.find((region) => DEXCOM_SHARE_REGIONS[region].baseUrl === origin)

/**
 * Reads the Share settings from environment variables, reporting every problem at once and never a value.
 * `DEXCOM_SHARE_REGION` picks the server and its application id; `DEXCOM_SHARE_BASE_URL` may override the
 * server (any http(s) URL in development; outside development only Share's own hosts, so that passwords never
 * go anywhere else). One of the two is required: a wrong region fails every login.
 */
export const dexcomShareSettingsFromEnvironment = (
  env: DexcomShareEnvironment,
  appEnv: AppEnv
): Result.Result<DexcomShareSettings, ReadonlyArray<string>> => {
  const problems: Array<string> = []
  const regionRaw = env.DEXCOM_SHARE_REGION?.trim().toLowerCase() || undefined
  const baseUrlRaw = env.DEXCOM_SHARE_BASE_URL?.trim() || undefined
  let region: DexcomShareRegion | undefined
  if (regionRaw !== undefined) {
    region = DEXCOM_SHARE_REGION_NAMES.find((name) => name === regionRaw)
    if (region === undefined) {
      problems.push(`DEXCOM_SHARE_REGION must be one of ${DEXCOM_SHARE_REGION_NAMES.join(", ")}`)
    }
  }
  let baseUrl: string | undefined
  if (baseUrlRaw !== undefined) {
    const url = URL.canParse(baseUrlRaw) ? new URL(baseUrlRaw) : undefined
    const origin = baseUrlRaw.replace(/\/+$/, "")
    if (url === undefined || (url.protocol !== "https:" && url.protocol !== "http:")) {
      problems.push("DEXCOM_SHARE_BASE_URL must be an http(s) URL")
    } else if (appEnv !== "development" && regionOfOrigin(origin) === undefined) {
      problems.push(
        `DEXCOM_SHARE_BASE_URL must be one of ${DEXCOM_SHARE_REGION_NAMES.map((name) => DEXCOM_SHARE_REGIONS[name].baseUrl).join(", ")} when APP_ENV is ${appEnv}`
      )
    } else {
      baseUrl = origin
      region ??= regionOfOrigin(origin)
    }
  }
  if (regionRaw === undefined && baseUrlRaw === undefined) {
    problems.push(
      `DEXCOM_SHARE_REGION is required with the dexcom-share provider (${DEXCOM_SHARE_REGION_NAMES.join(", ")}: the region of the users' Dexcom accounts)`
    )
  } else if (regionRaw === undefined && baseUrl !== undefined && region === undefined) {
    problems.push("DEXCOM_SHARE_REGION is required with a DEXCOM_SHARE_BASE_URL that is not a Share host")
  }
  if (problems.length > 0 || region === undefined) return Result.fail(problems)
  return Result.succeed(makeDexcomShareSettings(baseUrl === undefined ? { region } : { region, baseUrl }))
}
