import { join } from "node:path"
import { readSecretVariables, secretSourceConfig } from "@bg-ingest/adapters/aws-secrets"
import * as Environment from "@bg-ingest/adapters/environment"
import { Config, ConfigProvider, Effect, FileSystem, Option } from "effect"
import { type AppConfig, AppEnvs, ConfigInvalid, decodeAppConfig } from "./AppConfig.ts"

/**
 * The variables of a `.env` file: `KEY=value` lines, `#` comments, optional `export `, single or double quotes
 * (double quotes understand \n). No interpolation: what is written is what is read. A blank value is given.
 */
export const dotEnvProvider = (contents: string): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromDotEnvContents(contents, { preserveEmptyStrings: true })

/**
 * The variables the service configures itself from, before any secret: the process's environment, then `.env`
 * in `directory` when present. Real variables win, even blank ones.
 */
export const localVariables = Effect.fnUntraced(function* (directory: string) {
  const fs = yield* FileSystem.FileSystem
  const environment = ConfigProvider.fromEnv({ preserveEmptyStrings: true })
  const contents = yield* fs.readFileString(join(directory, ".env")).pipe(
    Effect.catchIf(
      (error) => error.reason._tag === "NotFound",
      () => Effect.succeed(undefined)
    )
  )
  return contents === undefined ? environment : ConfigProvider.orElse(environment, dotEnvProvider(contents))
})

/** A provider that sees a blank variable as unset, so that another source may fill it. */
const withoutBlanks = (provider: ConfigProvider.ConfigProvider): ConfigProvider.ConfigProvider =>
  ConfigProvider.make((path) =>
    Effect.map(provider.load(path), (node) => (node?._tag === "Value" && node.value.trim() === "" ? undefined : node))
  )

const invalid = (problems: ReadonlyArray<string>) => new ConfigInvalid({ problems })

const appEnvOf = Config.orElse(Environment.withDefault("APP_ENV", Environment.literal(AppEnvs), "development"), () =>
  Config.succeed("development" as const)
)

/** Strict: the secret, every secret of the service, comes over TLS unless its endpoint is on this machine. */
const insecureSecretEndpoint = (appEnv: string, endpoint: string | undefined): ReadonlyArray<string> => {
  const url = endpoint === undefined ? null : URL.parse(endpoint)
  return appEnv !== "development" && url?.protocol === "http:" && !Environment.isLoopbackHost(url.hostname)
    ? [
        `AWS_ENDPOINT_URL_SECRETS_MANAGER (or AWS_ENDPOINT_URL) must be https:// for a host that is not this machine when APP_ENV is ${appEnv}`
      ]
    : []
}

/**
 * The whole configuration step of start-up: with `SECRET_NAME`, the secret's variables from AWS Secrets Manager
 * first (the local variables win over them, unless blank), then validation of everything together.
 */
export const loadConfiguration = Effect.fn("loadConfiguration")(function* (local: ConfigProvider.ConfigProvider) {
  const source = yield* Effect.mapError(Environment.decode(secretSourceConfig, local), invalid)
  if (Option.isNone(source)) return yield* decodeAppConfig(local)
  const appEnv = yield* Effect.mapError(Environment.decode(appEnvOf, local), invalid)
  const insecure = insecureSecretEndpoint(appEnv, source.value.endpoint)
  if (insecure.length > 0) return yield* invalid(insecure)
  const variables = yield* readSecretVariables(source.value)
  const names = Object.keys(variables)
  const unsetLocally = yield* Effect.mapError(
    Environment.decode(Config.all(names.map((name) => Config.map(Environment.text(name), Option.isNone))), local),
    invalid
  )
  const fromSecret = names.filter((_, index) => unsetLocally[index])
  const config: AppConfig = yield* decodeAppConfig(
    withoutBlanks(local).pipe(ConfigProvider.orElse(Environment.fromVariables(variables)), ConfigProvider.orElse(local))
  )
  if (fromSecret.length === 0) return config
  const note = `${fromSecret.length} variables from the secret ${source.value.secretName}: ${[...fromSecret].sort().join(", ")}`
  return { ...config, notes: [...config.notes, note] } satisfies AppConfig
})
