import * as Environment from "@bg-ingest/adapters/environment"
import { Config, Duration, Option, Redacted, Result } from "effect"

export const LogFormats = ["pretty", "json"] as const
export const LogLevels = ["Trace", "Debug", "Info", "Warn", "Error", "Fatal"] as const

/** The service's own settings: its server, its poller, its logs and traces, and who may call it. */
export interface ServiceSettings {
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly pollInterval: Duration.Duration
  readonly backfillDays: number
  readonly schedulerConcurrency: number
  readonly schedulerTick: Duration.Duration
  /** How long a claimed connection stays with this replica without a renewal; outlives `syncTimeout`. */
  readonly schedulerLease: Duration.Duration
  /** A sync that takes longer is abandoned and recorded as failed. */
  readonly syncTimeout: Duration.Duration
  readonly shutdownTimeout: Duration.Duration
  readonly logLevel: (typeof LogLevels)[number]
  readonly logFormat: (typeof LogFormats)[number]
  /** Accepted API keys, plain or `sha256:<hex>`; empty means no key is asked (development only). */
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  /** Secrets that may sign webhook deliveries (several while rotating); empty in development means "generate". */
  readonly webhookSecrets: ReadonlyArray<Redacted.Redacted<string>>
  /** Where OpenTelemetry traces go (OTLP over HTTP), when set. */
  readonly otlpEndpoint: string | undefined
  readonly serviceName: string
}

/** A variable counted in seconds, as a duration. */
const seconds = (name: string, range: { readonly min: number; readonly max: number }, fallback: number) =>
  Config.map(Environment.withDefault(name, Environment.integer(range), fallback), (value) => Duration.seconds(value))

const secretWhen = (valid: (text: string) => boolean): Environment.Format<Redacted.Redacted<string>> => ({
  decode: (text) => (valid(text) ? Result.succeed(Redacted.make(text)) : Result.fail("invalid"))
})

/** Comma-separated webhook secrets of at least 16 characters each. */
const webhookSecrets = Environment.list(
  secretWhen((secret) => secret.length >= 16),
  "must be comma-separated secrets of at least 16 characters each"
)

/** Comma-separated API keys: plain keys of at least 16 characters, or `sha256:` and 64 hex digits. */
const apiKeys = Environment.list(
  secretWhen((key) => /^sha256:[0-9a-f]{64}$/i.test(key) || (!key.startsWith("sha256:") && key.length >= 16)),
  "must be comma-separated keys of at least 16 characters, or sha256:<64 hex digits>"
)

/**
 * `SCHEDULER_LEASE_SECONDS` and `SCHEDULER_SYNC_TIMEOUT_SECONDS`, checked together (whatever else is wrong): the
 * lease must outlive the sync it covers.
 */
const leasesConfig = Environment.all({
  schedulerLease: seconds("SCHEDULER_LEASE_SECONDS", { min: 30, max: 86_400 }, 900),
  syncTimeout: seconds("SCHEDULER_SYNC_TIMEOUT_SECONDS", { min: 10, max: 86_400 }, 600)
}).pipe(
  Environment.check(({ schedulerLease, syncTimeout }) =>
    Duration.isGreaterThan(schedulerLease, syncTimeout)
      ? []
      : [
          "SCHEDULER_LEASE_SECONDS must be greater than SCHEDULER_SYNC_TIMEOUT_SECONDS: a connection's lease must " +
            "outlive its sync, or another replica may take the connection while it is still being synced"
        ]
  )
)

/**
 * The service's own part of the environment. Strict (staging, production) asks for `API_KEYS` and
 * `WEBHOOK_SECRET`, listens on every interface and logs JSON; development needs none of it.
 */
export const serviceConfig = (options: { readonly strictness: Environment.Strictness }) => {
  const { strictness } = options
  const strict = strictness._tag === "Strict"
  const requiredWhenStrict = <A>(name: string, format: Environment.Format<ReadonlyArray<A>>) =>
    strictness._tag === "Strict"
      ? Environment.required(name, format, `is required ${strictness.because}`)
      : Environment.withDefault(name, format, [])
  return Environment.all({
    host: Environment.withDefault("HOST", Environment.anyText, strict ? "0.0.0.0" : "127.0.0.1"),
    port: Environment.withDefault("PORT", Environment.integer({ min: 0, max: 65_535 }), 5001),
    dataDir: Environment.withDefault("DATA_DIR", Environment.anyText, "./data"),
    pollInterval: seconds("POLL_INTERVAL_SECONDS", { min: 10, max: 86_400 }, 900),
    backfillDays: Environment.withDefault("BACKFILL_DAYS", Environment.integer({ min: 1, max: 3650 }), 90),
    schedulerConcurrency: Environment.withDefault(
      "SCHEDULER_CONCURRENCY",
      Environment.integer({ min: 1, max: 256 }),
      8
    ),
    schedulerTick: seconds("SCHEDULER_TICK_SECONDS", { min: 1, max: 3600 }, 5),
    leases: leasesConfig,
    shutdownTimeout: seconds("SHUTDOWN_TIMEOUT_SECONDS", { min: 1, max: 600 }, 20),
    logLevel: Environment.withDefault("LOG_LEVEL", Environment.literal(LogLevels), "Info"),
    logFormat: Environment.withDefault("LOG_FORMAT", Environment.literal(LogFormats), strict ? "json" : "pretty"),
    webhookSecrets: requiredWhenStrict("WEBHOOK_SECRET", webhookSecrets),
    apiKeys: requiredWhenStrict("API_KEYS", apiKeys),
    otlpEndpoint: Config.map(
      Environment.optional("OTEL_EXPORTER_OTLP_ENDPOINT", Environment.url(["http", "https"])),
      (url) => Option.getOrUndefined(Option.map(url, (endpoint) => endpoint.toString().replace(/\/$/, "")))
    ),
    serviceName: Environment.withDefault("OTEL_SERVICE_NAME", Environment.anyText, "bg-ingest")
  }).pipe(Config.map(({ leases, ...rest }) => ({ ...rest, ...leases }))) satisfies Config.Config<ServiceSettings>
}

/** The start-up notes of development's defaults for the service's own variables. */
export const serviceNotes = Environment.all({
  apiKeys: Environment.isSet("API_KEYS"),
  webhookSecret: Environment.isSet("WEBHOOK_SECRET")
}).pipe(
  Config.map(({ apiKeys, webhookSecret }) => [
    ...(apiKeys ? [] : ["API keys: none asked (set API_KEYS to require Authorization: Bearer <key> on /api/**)"]),
    ...(webhookSecret
      ? []
      : ["webhook: a generated secret kept in DATA_DIR/webhook-secret (set WEBHOOK_SECRET for your own)"])
  ])
)
