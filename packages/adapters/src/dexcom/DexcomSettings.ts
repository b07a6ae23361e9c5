import { Duration, Redacted, Result } from "effect"

/** Dexcom's API hosts (guides/dexcom.md §1). `DEXCOM_API_BASE_URL` picks one. */
export const DEXCOM_REGIONS = {
  sandbox: "https://sandbox-api.dexcom.com",
  us: "https://api.dexcom.com",
  eu: "https://api.dexcom.eu",
  jp: "https://api.dexcom.jp"
} as const
export type DexcomRegion = keyof typeof DEXCOM_REGIONS | "custom"

/** Dexcom allows 60,000 calls an hour per application; by default bg-ingest uses at most 80 % of that. */
export const DEXCOM_APP_CALLS_PER_HOUR = 60_000
export const DEFAULT_DEXCOM_MAX_CALLS_PER_HOUR = 48_000

export type AppEnv = "development" | "staging" | "production"

export interface DexcomSettings {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly redirectUri: string
  /** Origin of the API, without a trailing slash. */
  readonly baseUrl: string
  readonly region: DexcomRegion
  /** This process's share of the application's hourly call budget. */
  readonly maxCallsPerHour: number
  /** Calls that may be made at once after a quiet spell. */
  readonly burst: number
  /** How long a call may wait for the budget before it fails as rate limited instead. */
  readonly budgetMaxWait: Duration.Duration
  /** One attempt of one call (connect, send, read the body). */
  readonly requestTimeout: Duration.Duration
  /** Retries after a 5xx, a timeout or a reset, with exponential backoff and jitter from `retryBaseDelay`. */
  readonly retries: number
  readonly retryBaseDelay: Duration.Duration
  /** Access tokens are renewed when they have less than this left. */
  readonly refreshBefore: Duration.Duration
  /** The wait after a 429 without `Retry-After`, doubling per 429 in a row up to `rateLimitBackoffMax`. */
  readonly rateLimitBackoffBase: Duration.Duration
  readonly rateLimitBackoffMax: Duration.Duration
}

export interface DexcomCredentialsInput {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly redirectUri: string
  readonly baseUrl: string
}

/** Settings with the defaults for everything but the application's credentials and URLs. */
export const makeDexcomSettings = (
  input: DexcomCredentialsInput & Partial<Omit<DexcomSettings, keyof DexcomCredentialsInput>>
): DexcomSettings => {
  const maxCallsPerHour = input.maxCallsPerHour ?? DEFAULT_DEXCOM_MAX_CALLS_PER_HOUR
  return {
    region: regionOf(input.baseUrl),
    maxCallsPerHour,
    burst: Math.max(1, Math.min(100, Math.floor(maxCallsPerHour / 60))),
    budgetMaxWait: Duration.seconds(2),
    requestTimeout: Duration.seconds(30),
    retries: 3,
    retryBaseDelay: Duration.millis(500),
    refreshBefore: Duration.minutes(5),
    rateLimitBackoffBase: Duration.minutes(1),
    rateLimitBackoffMax: Duration.minutes(15),
    ...input,
    baseUrl: input.baseUrl.replace(/\/+$/, "")
  }
}

const regionOf = (baseUrl: string): DexcomRegion => {
  const origin = baseUrl.replace(/\/+$/, "")
  for (const [region, url] of Object.entries(DEXCOM_REGIONS)) {
    if (url === origin) return region as DexcomRegion
  }
  return "custom"
}

const isLoopback = (url: URL) => ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname)

/**
 * Checks `DEXCOM_API_BASE_URL`: outside development it must be one of Dexcom's hosts, so that tokens and
 * health data never go anywhere else; in development any http(s) URL is accepted (the fake server).
 */
export const checkDexcomBaseUrl = (raw: string, appEnv: AppEnv): Result.Result<string, string> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Result.fail("DEXCOM_API_BASE_URL is not a URL")
  }
  const origin = raw.replace(/\/+$/, "")
  if (appEnv === "development") {
    return url.protocol === "https:" || url.protocol === "http:"
      ? Result.succeed(origin)
      : Result.fail("DEXCOM_API_BASE_URL must be an http(s) URL")
  }
  return regionOf(origin) === "custom"
    ? Result.fail(
        `DEXCOM_API_BASE_URL must be one of ${Object.values(DEXCOM_REGIONS).join(", ")} when APP_ENV is ${appEnv}`
      )
    : Result.succeed(origin)
}

const checkRedirectUri = (raw: string, appEnv: AppEnv): Result.Result<string, string> => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return Result.fail("DEXCOM_REDIRECT_URI is not an absolute URL")
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && (appEnv === "development" || isLoopback(url)))) {
    return Result.succeed(raw)
  }
  return Result.fail(`DEXCOM_REDIRECT_URI must be an https URL when APP_ENV is ${appEnv}`)
}

const positiveInt = (name: string, raw: string | undefined, fallback: number): Result.Result<number, string> => {
  if (raw === undefined || raw.trim() === "") return Result.succeed(fallback)
  const value = Number(raw)
  return Number.isSafeInteger(value) && value > 0
    ? Result.succeed(value)
    : Result.fail(`${name} must be a positive integer`)
}

export interface DexcomEnvironment {
  readonly DEXCOM_CLIENT_ID?: string | undefined
  readonly DEXCOM_CLIENT_SECRET?: string | undefined
  readonly DEXCOM_REDIRECT_URI?: string | undefined
  readonly DEXCOM_API_BASE_URL?: string | undefined
  /** The whole application's budget, shared by every replica. */
  readonly DEXCOM_MAX_CALLS_PER_HOUR?: string | undefined
  /** How many replicas share that budget (each takes an equal part). */
  readonly REPLICAS?: string | undefined
}

/**
 * Reads the Dexcom settings from environment variables, reporting every problem at once and never a value.
 * `DEXCOM_API_BASE_URL` defaults to the sandbox in development and is required elsewhere.
 */
export const dexcomSettingsFromEnvironment = (
  env: DexcomEnvironment,
  appEnv: AppEnv
): Result.Result<DexcomSettings, ReadonlyArray<string>> => {
  const problems: Array<string> = []
  const required = (name: keyof DexcomEnvironment): string => {
    const value = env[name]?.trim()
    if (value === undefined || value === "") problems.push(`${name} is required`)
    return value ?? ""
  }
  const clientId = required("DEXCOM_CLIENT_ID")
  const clientSecret = required("DEXCOM_CLIENT_SECRET")
  const redirectUriRaw = required("DEXCOM_REDIRECT_URI")
  const baseUrlRaw =
    env.DEXCOM_API_BASE_URL?.trim() ||
    (appEnv === "development" ? DEXCOM_REGIONS.sandbox : required("DEXCOM_API_BASE_URL"))
  const collect = <A>(result: Result.Result<A, string>, fallback: A): A => {
    if (Result.isFailure(result)) {
      problems.push(result.failure)
      return fallback
    }
    return result.success
  }
  const redirectUri = redirectUriRaw === "" ? "" : collect(checkRedirectUri(redirectUriRaw, appEnv), "")
  const baseUrl = baseUrlRaw === "" ? "" : collect(checkDexcomBaseUrl(baseUrlRaw, appEnv), "")
  const appBudget = collect(
    positiveInt("DEXCOM_MAX_CALLS_PER_HOUR", env.DEXCOM_MAX_CALLS_PER_HOUR, DEFAULT_DEXCOM_MAX_CALLS_PER_HOUR),
    DEFAULT_DEXCOM_MAX_CALLS_PER_HOUR
  )
  if (appBudget > DEXCOM_APP_CALLS_PER_HOUR) {
    problems.push(`DEXCOM_MAX_CALLS_PER_HOUR must not exceed Dexcom's limit of ${DEXCOM_APP_CALLS_PER_HOUR}`)
  }
  const replicas = collect(positiveInt("REPLICAS", env.REPLICAS, 1), 1)
  if (problems.length > 0) return Result.fail(problems)
  return Result.succeed(
    makeDexcomSettings({
      clientId,
      clientSecret: Redacted.make(clientSecret),
      redirectUri,
      baseUrl,
      maxCallsPerHour: Math.max(1, Math.floor(appBudget / replicas))
    })
  )
}
