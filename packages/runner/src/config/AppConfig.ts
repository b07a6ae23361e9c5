import { parseTokenEncryptionKey } from "@bg-ingest/adapters/crypto"
import { type DexcomSettings, dexcomSettingsFromEnvironment } from "@bg-ingest/adapters/dexcom"
import { type DexcomShareSettings, dexcomShareSettingsFromEnvironment } from "@bg-ingest/adapters/dexcom-share"
import { DEFAULT_TABLE, type DynamoDbOptions } from "@bg-ingest/adapters/dynamodb"
import {
  DEFAULT_RABBITMQ_EXCHANGE,
  ExchangeName,
  type RabbitMqPublisherOptions,
  UnroutablePolicy
} from "@bg-ingest/adapters/rabbitmq"
import { UserId } from "@bg-ingest/domain"
import { Duration, Option, Redacted, Result, Schema } from "effect"

export const AppEnvs = ["development", "staging", "production"] as const
export type AppEnv = (typeof AppEnvs)[number]
export const StoreKinds = ["sqlite", "dynamodb", "memory"] as const
export type StoreKind = (typeof StoreKinds)[number]
export const EventKinds = ["rabbitmq", "memory"] as const
export type EventKind = (typeof EventKinds)[number]
export const ProviderKinds = ["simulator", "dexcom", "dexcom-share"] as const
export type ProviderKind = (typeof ProviderKinds)[number]
export const LogFormats = ["pretty", "json"] as const
export const LogLevels = ["Trace", "Debug", "Info", "Warn", "Error", "Fatal"] as const

/** Everything the service needs to start, validated. Secrets are never part of a message about it. */
export interface AppConfig {
  readonly appEnv: AppEnv
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly store: StoreKind
  readonly events: EventKind
  readonly providers: ReadonlyArray<ProviderKind>
  readonly pollInterval: Duration.Duration
  readonly backfillDays: number
  readonly demoUsers: ReadonlyArray<UserId>
  readonly schedulerConcurrency: number
  readonly schedulerTick: Duration.Duration
  readonly shutdownTimeout: Duration.Duration
  readonly logLevel: (typeof LogLevels)[number]
  readonly logFormat: (typeof LogFormats)[number]
  /** Accepted API keys, plain or `sha256:<hex>`; empty means no key is asked (development only). */
  readonly apiKeys: ReadonlyArray<Redacted.Redacted<string>>
  /** Where OpenTelemetry traces go (OTLP over HTTP), when set. */
  readonly otlpEndpoint: string | undefined
  readonly serviceName: string
  /** Secrets that may sign webhook deliveries (several while rotating); empty in development means "generate". */
  readonly webhookSecrets: ReadonlyArray<Redacted.Redacted<string>>
  /** DynamoDB, when it is the store: the table is created in development and must exist elsewhere. */
  readonly dynamodb: DynamoDbOptions
  /** RabbitMQ, when it carries the events. */
  readonly rabbitmq: RabbitMqPublisherOptions | null
  /** The Dexcom application, when `dexcom` is one of the providers. */
  readonly dexcom: DexcomSettings | null
  /** The Dexcom Share region (or server), when `dexcom-share` is one of the providers. */
  readonly dexcomShare: DexcomShareSettings | null
  /** Encrypts provider tokens at rest; development generates one in `DATA_DIR` when absent. */
  readonly tokenEncryptionKey: Option.Option<Redacted.Redacted<string>>
  /** Which defaults development mode chose and why, for the start-up log. */
  readonly notes: ReadonlyArray<string>
}

/** Every problem found, each naming the variable and what it must be (never its value). */
export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Invalid configuration:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

const IntFromString = Schema.NumberFromString.check(Schema.isInt())

/** Reads variables through Schemas, collecting problems instead of stopping at the first. */
class Reader {
  readonly problems: Array<string> = []
  readonly notes: Array<string> = []
  private readonly env: Readonly<Record<string, string>>
  constructor(env: Readonly<Record<string, string>>) {
    this.env = env
  }

  raw(name: string): string | undefined {
    const value = this.env[name]?.trim()
    return value === undefined || value === "" ? undefined : value
  }

  has(name: string): boolean {
    return this.raw(name) !== undefined
  }

  /** Whether the variable is given at all, even empty (`DEMO_USERS=` turns the demo users off). */
  given(name: string): boolean {
    return this.env[name] !== undefined
  }

  literal<const L extends ReadonlyArray<string>>(name: string, choices: L, fallback: L[number]): L[number] {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if ((choices as ReadonlyArray<string>).includes(value)) return value
    this.problems.push(`${name} must be one of ${choices.join(", ")}`)
    return fallback
  }

  int(name: string, fallback: number, range: { readonly min: number; readonly max: number }): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const parsed = Schema.decodeUnknownOption(IntFromString)(value)
    if (Option.isSome(parsed) && parsed.value >= range.min && parsed.value <= range.max) return parsed.value
    this.problems.push(`${name} must be an integer from ${range.min} to ${range.max}`)
    return fallback
  }

  list(name: string, fallback: ReadonlyArray<string>): ReadonlyArray<string> {
    const value = this.raw(name)
    if (value === undefined) return fallback
    return value
      .split(",")
      .map((item) => item.trim())
      .filter((item) => item !== "")
  }

  /** A comma-separated list of secrets, each at least `minLength` characters; never echoed. */
  secrets(name: string, minLength: number): ReadonlyArray<Redacted.Redacted<string>> {
    const values = this.list(name, [])
    if (values.some((value) => value.length < minLength)) {
      this.problems.push(`${name} must be comma-separated secrets of at least ${minLength} characters each`)
      return []
    }
    return values.map((value) => Redacted.make(value))
  }

  /** API keys: comma-separated plain keys of at least 16 characters, or `sha256:` and 64 hex digits. */
  apiKeys(name: string): ReadonlyArray<Redacted.Redacted<string>> {
    const values = this.list(name, [])
    const valid = (value: string) =>
      /^sha256:[0-9a-f]{64}$/i.test(value) || (!value.startsWith("sha256:") && value.length >= 16)
    if (!values.every(valid)) {
      this.problems.push(`${name} must be comma-separated keys of at least 16 characters, or sha256:<64 hex digits>`)
      return []
    }
    return values.map((value) => Redacted.make(value))
  }

  /** A URL with one of the given protocols, or undefined when unset. */
  url(name: string, protocols: ReadonlyArray<string>): URL | undefined {
    const value = this.raw(name)
    if (value === undefined) return undefined
    const parsed = URL.canParse(value) ? new URL(value) : undefined
    if (parsed === undefined || !protocols.includes(parsed.protocol.slice(0, -1))) {
      this.problems.push(
        `${name} must be a URL starting with ${protocols.map((protocol) => `${protocol}://`).join(" or ")}`
      )
      return undefined
    }
    return parsed
  }

  require(name: string, why: string): void {
    if (!this.has(name)) this.problems.push(`${name} is required ${why}`)
  }
}

/**
 * Validates the configuration of DESIGN §7. Development is tolerant and notes each default it takes; staging
 * and production are strict and name every missing or invalid variable together.
 */
export const loadAppConfig = (env: Readonly<Record<string, string>>): Result.Result<AppConfig, ConfigInvalid> => {
  const read = new Reader(env)
  const appEnv = read.literal("APP_ENV", AppEnvs, "development")
  const strict = appEnv !== "development"

  const store = read.has("STORE")
    ? read.literal("STORE", StoreKinds, "sqlite")
    : read.has("DYNAMODB_ENDPOINT") || strict
      ? "dynamodb"
      : "sqlite"
  if (!read.has("STORE") && store === "sqlite") {
    read.notes.push("store: SQLite (set DYNAMODB_ENDPOINT or STORE=dynamodb for DynamoDB)")
  }

  const events = read.has("EVENTS")
    ? read.literal("EVENTS", EventKinds, "memory")
    : read.has("RABBITMQ_URL") || strict
      ? "rabbitmq"
      : "memory"
  if (!read.has("EVENTS") && events === "memory") {
    read.notes.push("events: kept in process (set RABBITMQ_URL to publish to RabbitMQ)")
  }

  const shareConfigured = read.has("DEXCOM_SHARE_REGION") || read.has("DEXCOM_SHARE_BASE_URL")
  const defaultProviders: ReadonlyArray<ProviderKind> = strict
    ? ["dexcom"]
    : [
        "simulator",
        ...(read.has("DEXCOM_CLIENT_ID") ? (["dexcom"] as const) : []),
        ...(shareConfigured ? (["dexcom-share"] as const) : [])
      ]
  const providers = read.list("PROVIDERS", defaultProviders).filter((provider): provider is ProviderKind => {
    if ((ProviderKinds as ReadonlyArray<string>).includes(provider)) return true
    read.problems.push(`PROVIDERS lists "${provider}", which is not one of ${ProviderKinds.join(", ")}`)
    return false
  })
  if (!read.has("PROVIDERS") && !strict && !read.has("DEXCOM_CLIENT_ID") && !shareConfigured) {
    read.notes.push(
      "providers: the simulator only (set DEXCOM_CLIENT_ID and friends to connect Dexcom accounts, DEXCOM_SHARE_REGION for Dexcom Share)"
    )
  }

  const demoUsers = read
    .list(
      "DEMO_USERS",
      strict || !providers.includes("simulator") || read.given("DEMO_USERS") ? [] : ["demo-1", "demo-2", "demo-3"]
    )
    .filter((id): id is UserId => {
      if (Schema.is(UserId)(id)) return true
      read.problems.push("DEMO_USERS must be comma-separated user ids of 1–128 characters of A-Z a-z 0-9 . _ : @ -")
      return false
    })
  if (demoUsers.length > 0 && !providers.includes("simulator")) {
    read.problems.push("DEMO_USERS needs the simulator provider (PROVIDERS=simulator,…)")
  }
  if (strict && demoUsers.length > 0) read.problems.push(`DEMO_USERS is for development, not ${appEnv}`)

  if (!strict && !read.has("API_KEYS")) {
    read.notes.push("API keys: none asked (set API_KEYS to require Authorization: Bearer <key> on /api/**)")
  }
  if (!strict && !read.has("WEBHOOK_SECRET")) {
    read.notes.push("webhook: a generated secret kept in DATA_DIR/webhook-secret (set WEBHOOK_SECRET for your own)")
  }

  const dynamoEndpoint = read.url("DYNAMODB_ENDPOINT", ["http", "https"])
  const table = read.raw("DYNAMODB_TABLE") ?? DEFAULT_TABLE
  if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(table)) {
    read.problems.push("DYNAMODB_TABLE must be 3–255 characters of a-z A-Z 0-9 _ . -")
  }
  const readingTtlDays = read.has("READING_TTL_DAYS")
    ? read.int("READING_TTL_DAYS", 0, { min: 1, max: 36_500 })
    : undefined
  const rabbitUrl = read.url("RABBITMQ_URL", ["amqp", "amqps"])
  const exchange = read.raw("RABBITMQ_EXCHANGE") ?? DEFAULT_RABBITMQ_EXCHANGE
  if (!Schema.is(ExchangeName)(exchange)) {
    read.problems.push("RABBITMQ_EXCHANGE must be 1–255 characters of A-Z a-z 0-9 - _ . : and must not start with amq.")
  }
  const unroutable = read.literal("RABBITMQ_UNROUTABLE", UnroutablePolicy.literals, "fail")
  const confirmTimeoutSeconds = read.int("RABBITMQ_CONFIRM_TIMEOUT_SECONDS", 30, { min: 1, max: 600 })
  const otlp = read.url("OTEL_EXPORTER_OTLP_ENDPOINT", ["http", "https"])
  const region = read.raw("AWS_REGION")
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    read.problems.push("AWS_REGION must be an AWS region such as us-east-1 or eu-central-1")
  }

  if (strict) {
    const why = `when APP_ENV=${appEnv}`
    if (store !== "dynamodb") read.problems.push(`STORE must be dynamodb ${why}`)
    if (events !== "rabbitmq") read.problems.push(`EVENTS must be rabbitmq ${why}`)
    read.require("RABBITMQ_URL", why)
    read.require("AWS_REGION", why)
    for (const name of ["WEBHOOK_SECRET", "API_KEYS", "TOKEN_ENCRYPTION_KEY"]) read.require(name, why)
  }
  if (events === "rabbitmq" && !strict) read.require("RABBITMQ_URL", "when EVENTS=rabbitmq")

  let dexcom: DexcomSettings | null = null
  if (providers.includes("dexcom")) {
    const settings = dexcomSettingsFromEnvironment(env, appEnv)
    if (Result.isSuccess(settings)) dexcom = settings.success
    else read.problems.push(...settings.failure)
  }
  let dexcomShare: DexcomShareSettings | null = null
  if (providers.includes("dexcom-share")) {
    const settings = dexcomShareSettingsFromEnvironment(env, appEnv)
    if (Result.isSuccess(settings)) dexcomShare = settings.success
    else read.problems.push(...settings.failure)
  }
  const tokenKey = read.raw("TOKEN_ENCRYPTION_KEY")
  const parsedTokenKey = tokenKey === undefined ? undefined : parseTokenEncryptionKey(tokenKey)
  if (parsedTokenKey !== undefined && Result.isFailure(parsedTokenKey)) {
    read.problems.push(`TOKEN_ENCRYPTION_KEY ${parsedTokenKey.failure}`)
  }
  if (!strict && (dexcom !== null || dexcomShare !== null) && tokenKey === undefined) {
    read.notes.push(
      "provider credentials: encrypted with a development key kept in DATA_DIR/token-encryption.key (set TOKEN_ENCRYPTION_KEY)"
    )
  }

  const config: AppConfig = {
    appEnv,
    host: read.raw("HOST") ?? (strict ? "0.0.0.0" : "127.0.0.1"),
    port: read.int("PORT", 5001, { min: 0, max: 65_535 }),
    dataDir: read.raw("DATA_DIR") ?? "./data",
    store,
    events,
    providers,
    pollInterval: Duration.seconds(read.int("POLL_INTERVAL_SECONDS", 900, { min: 10, max: 86_400 })),
    backfillDays: read.int("BACKFILL_DAYS", 90, { min: 1, max: 3650 }),
    demoUsers,
    schedulerConcurrency: read.int("SCHEDULER_CONCURRENCY", 8, { min: 1, max: 256 }),
    schedulerTick: Duration.seconds(read.int("SCHEDULER_TICK_SECONDS", 5, { min: 1, max: 3600 })),
    shutdownTimeout: Duration.seconds(read.int("SHUTDOWN_TIMEOUT_SECONDS", 20, { min: 1, max: 600 })),
    logLevel: read.literal("LOG_LEVEL", LogLevels, "Info"),
    logFormat: read.literal("LOG_FORMAT", LogFormats, strict ? "json" : "pretty"),
    webhookSecrets: read.secrets("WEBHOOK_SECRET", 16),
    apiKeys: read.apiKeys("API_KEYS"),
    otlpEndpoint: otlp?.toString().replace(/\/$/, ""),
    serviceName: read.raw("OTEL_SERVICE_NAME") ?? "bg-ingest",
    dynamodb: {
      region: region ?? (dynamoEndpoint === undefined ? undefined : "us-east-1"),
      endpoint: dynamoEndpoint?.toString().replace(/\/$/, ""),
      table,
      ensureTable: strict ? "require-existing" : "create-if-missing",
      readingTtlDays
    },
    rabbitmq:
      rabbitUrl === undefined
        ? null
        : {
            url: Redacted.make(read.raw("RABBITMQ_URL")!),
            exchange,
            unroutable,
            confirmTimeout: Duration.seconds(confirmTimeoutSeconds)
          },
    dexcom,
    dexcomShare,
    tokenEncryptionKey: tokenKey === undefined ? Option.none() : Option.some(Redacted.make(tokenKey)),
    notes: read.notes
  }
  return read.problems.length > 0 ? Result.fail(new ConfigInvalid({ problems: read.problems })) : Result.succeed(config)
}
