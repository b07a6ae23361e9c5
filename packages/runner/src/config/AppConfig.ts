import { tokenEncryptionKeyConfig } from "@bg-ingest/adapters/crypto"
import type { DynamoDbOptions } from "@bg-ingest/adapters/dynamodb"
// The configuration parts alone: the adapters themselves (the AWS SDK, amqplib) load only when configured (App.ts).
import { dynamoDbConfig } from "@bg-ingest/adapters/dynamodb/config"
import * as Environment from "@bg-ingest/adapters/environment"
import { type RabbitMqPublisherOptions, rabbitMqPublisherConfigFor } from "@bg-ingest/adapters/rabbitmq/settings"
import { UserId } from "@bg-ingest/domain"
import { Config, Effect, Option, Record as Rec, type Redacted, Result, Schema } from "effect"
import { type ProviderKind, ProviderKinds, type ProviderSettings, providerRegistry } from "./Providers.ts"
import { type ServiceSettings, serviceConfig, serviceNotes } from "./ServiceConfig.ts"

export const AppEnvs = ["development", "staging", "production"] as const
export type AppEnv = (typeof AppEnvs)[number]
export const StoreKinds = ["sqlite", "dynamodb", "memory"] as const
export type StoreKind = (typeof StoreKinds)[number]
export const EventKinds = ["rabbitmq", "memory"] as const
export type EventKind = (typeof EventKinds)[number]

/** Everything the service needs to start, validated. Secrets are never part of a message about it. */
export interface AppConfig extends ServiceSettings {
  readonly appEnv: AppEnv
  readonly store: StoreKind
  readonly events: EventKind
  readonly providers: ReadonlyArray<ProviderKind>
  /** Each provider's settings: those of `providers`, decoded from their adapters' parts; `null` for the others. */
  readonly providerSettings: ProviderSettings
  readonly demoUsers: ReadonlyArray<UserId>
  /** DynamoDB, when it is the store: the table is created in development and must exist elsewhere. */
  readonly dynamodb: DynamoDbOptions
  /** RabbitMQ, when `RABBITMQ_URL` is set. */
  readonly rabbitmq: RabbitMqPublisherOptions | null
  /** Encrypts provider tokens at rest; development generates one in `DATA_DIR` when absent. */
  readonly tokenEncryptionKey: Option.Option<Redacted.Redacted<string>>
  /** Which defaults development mode chose and why, for the start-up log. */
  readonly notes: ReadonlyArray<string>
  /** What works here but not as one may expect (logged as warnings at start-up). */
  readonly warnings: ReadonlyArray<string>
}

/** Every problem found, each naming the variable and what it must be (never its value). */
export class ConfigInvalid extends Schema.TaggedError<ConfigInvalid>()("ConfigInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return `Invalid configuration:\n${this.problems.map((problem) => `  - ${problem}`).join("\n")}`
  }
}

/** How strict each part is, and the words that say why in a refusal (the adapters' and the runner's own). */
interface Mode {
  readonly appEnv: AppEnv
  readonly strict: boolean
  /** For the runner's own variables: "when APP_ENV=production". */
  readonly why: string
  /** For the adapters' parts: "when APP_ENV is production". */
  readonly strictness: Environment.Strictness
}

const modeOf = (appEnv: AppEnv): Mode => ({
  appEnv,
  strict: appEnv !== "development",
  why: `when APP_ENV=${appEnv}`,
  strictness:
    appEnv === "development"
      ? Environment.Strictness.development
      : Environment.Strictness.strict(`when APP_ENV is ${appEnv}`)
})

const noteWhen = (condition: boolean, note: string): ReadonlyArray<string> => (condition ? [note] : [])

/** `STORE`: DynamoDB when `DYNAMODB_ENDPOINT` is set or outside development, else SQLite; and DynamoDB's part. */
const storeConfig = (mode: Mode) =>
  Environment.all({
    chosen: Environment.optional("STORE", Environment.literal(StoreKinds)),
    endpointSet: Environment.isSet("DYNAMODB_ENDPOINT"),
    region: mode.strict
      ? Environment.required("AWS_REGION", Environment.anyText, `is required ${mode.why}`)
      : Config.succeed(undefined),
    dynamodb: dynamoDbConfig({
      ensureTable: mode.strict ? "require-existing" : "create-if-missing",
      strictness: mode.strictness
    })
  }).pipe(
    Config.map(({ chosen, endpointSet, dynamodb }) => {
      const kind: StoreKind = Option.getOrElse(chosen, () => (endpointSet || mode.strict ? "dynamodb" : "sqlite"))
      const note = noteWhen(
        Option.isNone(chosen) && kind === "sqlite",
        "store: SQLite (set DYNAMODB_ENDPOINT or STORE=dynamodb for DynamoDB)"
      )
      return { kind, dynamodb, note }
    }),
    Environment.check(({ kind }) => (mode.strict && kind !== "dynamodb" ? [`STORE must be dynamodb ${mode.why}`] : []))
  )

/** `EVENTS`: RabbitMQ when `RABBITMQ_URL` is set or outside development, else in process; and RabbitMQ's part. */
const eventsConfig = (mode: Mode) =>
  Environment.all({
    chosen: Environment.optional("EVENTS", Environment.literal(EventKinds)),
    urlSet: Environment.isSet("RABBITMQ_URL")
  }).pipe(
    Config.flatMap(({ chosen, urlSet }) => {
      const kind: EventKind = Option.getOrElse(chosen, () => (urlSet || mode.strict ? "rabbitmq" : "memory"))
      const requiredBecause = mode.strict ? mode.why : kind === "rabbitmq" ? "when EVENTS=rabbitmq" : undefined
      return Environment.all({
        rules: Environment.verify([
          ...(mode.strict && kind !== "rabbitmq" ? [`EVENTS must be rabbitmq ${mode.why}`] : []),
          ...(!urlSet && requiredBecause !== undefined ? [`RABBITMQ_URL is required ${requiredBecause}`] : [])
        ]),
        rabbitmq: urlSet ? rabbitMqPublisherConfigFor({ strictness: mode.strictness }) : Config.succeed(null)
      }).pipe(
        Config.map(({ rabbitmq }) => ({
          kind,
          rabbitmq,
          note: noteWhen(
            Option.isNone(chosen) && kind === "memory",
            "events: kept in process (set RABBITMQ_URL to publish to RabbitMQ)"
          )
        }))
      )
    })
  )

/** Whether any variable that turns each provider on in development is set. */
const providersTurnedOn = Environment.all(
  Rec.map(providerRegistry, (provider) =>
    "turnedOnBy" in provider
      ? Config.map(Config.all(provider.turnedOnBy.variables.map(Environment.isSet)), (set) => set.includes(true))
      : Config.succeed(false)
  )
)

const providerHints = ProviderKinds.flatMap((kind) => {
  const provider = providerRegistry[kind]
  return "turnedOnBy" in provider ? [provider.turnedOnBy.hint] : []
})

/** `PROVIDERS` (in development: the simulator and those whose variables are set), and each one's settings. */
const providersConfig = (mode: Mode) =>
  Environment.all({ listed: Environment.text("PROVIDERS"), turnedOn: providersTurnedOn }).pipe(
    Config.flatMap(({ listed, turnedOn }) => {
      const names = Option.match(listed, {
        onNone: () => undefined,
        onSome: (text) =>
          text
            .split(",")
            .map((name) => name.trim())
            .filter((name) => name !== "")
      })
      const unknown = (names ?? []).filter((name) => !(ProviderKinds as ReadonlyArray<string>).includes(name))
      const kinds: ReadonlyArray<ProviderKind> =
        names === undefined
          ? mode.strict
            ? ["dexcom"]
            : ["simulator", ...ProviderKinds.filter((kind) => turnedOn[kind])]
          : (names.filter((name) => !unknown.includes(name)) as ReadonlyArray<ProviderKind>)
      const note = noteWhen(
        names === undefined && !mode.strict && !ProviderKinds.some((kind) => turnedOn[kind]),
        `providers: the simulator only (set ${providerHints.join(", ")})`
      )
      const settings = Environment.all(
        Rec.fromEntries(kinds.map((kind) => [kind, providerRegistry[kind].config({ strictness: mode.strictness })]))
      )
      return Environment.all({
        known: Environment.verify([
          ...unknown.map((name) => `PROVIDERS lists "${name}", which is not one of ${ProviderKinds.join(", ")}`),
          ...(mode.strict
            ? kinds
                .filter((kind) => "developmentOnly" in providerRegistry[kind])
                .map((kind) => `PROVIDERS must not list ${kind} ${mode.why}: it makes readings up`)
            : [])
        ]),
        settings
      }).pipe(
        Config.map(({ settings }) => ({
          kinds,
          settings: Rec.map(providerRegistry, (_, kind) => settings[kind] ?? null) as ProviderSettings,
          note
        }))
      )
    })
  )

const DEVELOPMENT_DEMO_USERS = ["demo-1", "demo-2", "demo-3"].map((id) => UserId.make(id))

const userIds = Environment.list<UserId>(
  { decode: (text) => (Schema.is(UserId)(text) ? Result.succeed(text) : Result.fail("invalid")) },
  "must be comma-separated user ids of 1–128 characters of A-Z a-z 0-9 . _ : @ -, starting with a letter or a digit"
)

/** `DEMO_USERS`: given (even empty, which means none) or not; development's default depends on the providers. */
const demoUsersConfig = (mode: Mode) =>
  Environment.all({
    listed: Environment.optional("DEMO_USERS", userIds),
    given: Environment.isGiven("DEMO_USERS")
  }).pipe(
    Environment.check(({ listed }) =>
      mode.strict && Option.isSome(listed) && listed.value.length > 0
        ? [`DEMO_USERS is for development, not ${mode.appEnv}`]
        : []
    )
  )

const tokenKeyConfig = (mode: Mode) =>
  Config.flatMap(tokenEncryptionKeyConfig, (key) =>
    mode.strict && Option.isNone(key)
      ? Environment.refuse(`TOKEN_ENCRYPTION_KEY is required ${mode.why}`)
      : Config.succeed(key)
  )

/** The whole environment for one `APP_ENV`: every part decoded, every problem named. */
const configFor = (mode: Mode): Config.Config<AppConfig> =>
  Environment.all({
    store: storeConfig(mode),
    events: eventsConfig(mode),
    providers: providersConfig(mode),
    demoUsers: demoUsersConfig(mode),
    service: serviceConfig({
      strictness: mode.strict ? Environment.Strictness.strict(mode.why) : Environment.Strictness.development
    }),
    serviceNotes,
    tokenEncryptionKey: tokenKeyConfig(mode)
  }).pipe(
    Config.map(({ store, events, providers, demoUsers, service, serviceNotes, tokenEncryptionKey }): AppConfig => {
      const simulator = providers.kinds.includes("simulator")
      const demoDefault = mode.strict || !simulator || demoUsers.given ? [] : DEVELOPMENT_DEMO_USERS
      const keepsCredentials = providers.kinds.some((kind) => providerRegistry[kind].keepsCredentials)
      return {
        ...service,
        appEnv: mode.appEnv,
        store: store.kind,
        events: events.kind,
        providers: providers.kinds,
        providerSettings: providers.settings,
        demoUsers: Option.getOrElse(demoUsers.listed, () => demoDefault),
        dynamodb: store.dynamodb,
        rabbitmq: events.rabbitmq,
        tokenEncryptionKey,
        notes: [
          ...store.note,
          ...events.note,
          ...providers.note,
          ...serviceNotes,
          ...noteWhen(
            !mode.strict && keepsCredentials && Option.isNone(tokenEncryptionKey),
            "provider credentials: encrypted with a development key kept in DATA_DIR/token-encryption.key (set TOKEN_ENCRYPTION_KEY)"
          )
        ],
        warnings: noteWhen(
          !mode.strict && keepsCredentials && Option.isNone(tokenEncryptionKey) && store.kind === "dynamodb",
          "TOKEN_ENCRYPTION_KEY is not set, so this replica encrypts provider tokens with a key it generated in its own " +
            "DATA_DIR, in a store other replicas share: they cannot read the tokens it stores, nor it theirs (their " +
            "connections fail as encrypted with another key). Set the same TOKEN_ENCRYPTION_KEY on every replica."
        )
      }
    }),
    Environment.check((config) =>
      config.demoUsers.length > 0 && !config.providers.includes("simulator")
        ? ["DEMO_USERS needs the simulator provider (PROVIDERS=simulator,…)"]
        : []
    )
  )

const appEnvConfig = Environment.withDefault("APP_ENV", Environment.literal(AppEnvs), "development")

/**
 * The whole configuration. Development is tolerant and notes each default it takes; staging and production are
 * strict and name every missing or invalid variable together. A wrong `APP_ENV` is named with what the rest would
 * be refused for in development.
 */
export const appConfig: Config.Config<AppConfig> = Environment.all({
  appEnv: appEnvConfig,
  config: Config.flatMap(
    Config.orElse(appEnvConfig, () => Config.succeed("development" as const)),
    (appEnv) => configFor(modeOf(appEnv))
  )
}).pipe(Config.map(({ config }) => config))

/** Decodes the whole configuration from plain variables (tests, benchmarks). */
export const loadAppConfig = (
  variables: Readonly<Record<string, string | undefined>>
): Result.Result<AppConfig, ConfigInvalid> =>
  Result.mapError(Environment.decodeVariables(appConfig, variables), (problems) => new ConfigInvalid({ problems }))

/** Decodes the whole configuration from a provider, as start-up does. */
export const decodeAppConfig = (provider: Parameters<Config.Config<AppConfig>["parse"]>[0]) =>
  Effect.mapError(Environment.decode(appConfig, provider), (problems) => new ConfigInvalid({ problems }))
