import { Config, Duration, type Redacted, Result } from "effect"
import * as Environment from "../environment/index.ts"

/** Dexcom's API hosts. `DEXCOM_API_BASE_URL` picks one. */
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

export interface DexcomSettings {
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly redirectUri: string
  /** Origin of the API, without a trailing slash. */
  readonly baseUrl: string
  readonly region: DexcomRegion
  /** The application's hourly call budget, shared by every replica through the store (`CallBudget`). */
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

/** An absolute URL, checked by `rule`; the text as written. */
const urlText = (
  notAUrl: string,
  rule: (url: URL, text: string) => string | undefined
): Environment.Format<string> => ({
  decode: (text) => {
    const url = URL.parse(text)
    if (url === null) return Result.fail(notAUrl)
    const problem = rule(url, text)
    return problem === undefined ? Result.succeed(text) : Result.fail(problem)
  }
})

/**
 * `DEXCOM_API_BASE_URL`: when strict, one of Dexcom's hosts, so that tokens and health data never go anywhere
 * else; in development any http(s) URL (the fake server).
 */
const baseUrlFormat = (strictness: Environment.Strictness): Environment.Format<string> =>
  urlText("is not a URL", (url, text) => {
    if (strictness._tag === "Development") {
      return url.protocol === "https:" || url.protocol === "http:" ? undefined : "must be an http(s) URL"
    }
    return regionOf(text) === "custom"
      ? `must be one of ${Object.values(DEXCOM_REGIONS).join(", ")} ${strictness.because}`
      : undefined
  })

/** `DEXCOM_REDIRECT_URI`: https, or plain http on loopback; any http(s) URL in development. */
const redirectUriFormat = (strictness: Environment.Strictness): Environment.Format<string> =>
  urlText("is not an absolute URL", (url) => {
    if (url.protocol === "https:") return undefined
    if (strictness._tag === "Development") return url.protocol === "http:" ? undefined : "must be an https URL"
    return url.protocol === "http:" && isLoopback(url) ? undefined : `must be an https URL ${strictness.because}`
  })

/** `DEXCOM_MAX_CALLS_PER_HOUR`: the whole application's budget, shared by every replica. */
const appBudgetFormat = Environment.refine(Environment.positiveInteger, (calls) =>
  calls > DEXCOM_APP_CALLS_PER_HOUR ? `must not exceed Dexcom's limit of ${DEXCOM_APP_CALLS_PER_HOUR}` : undefined
)

export interface DexcomConfigOptions {
  /** Strict: Dexcom's own hosts only, an https redirect URI, and `DEXCOM_API_BASE_URL` required (no sandbox default). */
  readonly strictness: Environment.Strictness
}

/**
 * The Dexcom application's part of the environment: `DEXCOM_CLIENT_ID`, `DEXCOM_CLIENT_SECRET`,
 * `DEXCOM_REDIRECT_URI`, `DEXCOM_API_BASE_URL` (the sandbox by default in development), and the call budget
 * `DEXCOM_MAX_CALLS_PER_HOUR`, shared by every replica through the store whatever their number.
 */
export const dexcomConfig = (options: DexcomConfigOptions): Config.Config<DexcomSettings> =>
  Environment.all({
    clientId: Environment.required("DEXCOM_CLIENT_ID", Environment.anyText),
    clientSecret: Environment.required("DEXCOM_CLIENT_SECRET", Environment.secretText),
    redirectUri: Environment.required("DEXCOM_REDIRECT_URI", redirectUriFormat(options.strictness)),
    baseUrl:
      options.strictness._tag === "Strict"
        ? Environment.required("DEXCOM_API_BASE_URL", baseUrlFormat(options.strictness))
        : Environment.withDefault("DEXCOM_API_BASE_URL", baseUrlFormat(options.strictness), DEXCOM_REGIONS.sandbox),
    maxCallsPerHour: Environment.withDefault(
      "DEXCOM_MAX_CALLS_PER_HOUR",
      appBudgetFormat,
      DEFAULT_DEXCOM_MAX_CALLS_PER_HOUR
    )
  }).pipe(Config.map(makeDexcomSettings))
