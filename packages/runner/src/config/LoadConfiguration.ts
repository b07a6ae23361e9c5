import { readSecretVariables } from "@bg-ingest/adapters/aws-secrets"
import { Effect } from "effect"
import { type AppConfig, loadAppConfig } from "./AppConfig.ts"

/** AWS keys given in the configuration (e.g. `.env`, which the SDK does not read); else the default chain. */
const staticCredentials = (env: Readonly<Record<string, string>>) => {
  const accessKeyId = env.AWS_ACCESS_KEY_ID?.trim()
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY?.trim()
  if (!accessKeyId || !secretAccessKey) return undefined
  return { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN?.trim() || undefined }
}

/**
 * The whole configuration step of start-up: with `SECRET_NAME`, the secret's variables from AWS Secrets Manager
 * first (environment variables win over them), then validation of everything together.
 */
export const loadConfiguration = Effect.fn("loadConfiguration")(function* (env: Readonly<Record<string, string>>) {
  const secretName = env.SECRET_NAME?.trim()
  let merged: Record<string, string> = { ...env }
  let fromSecret: ReadonlyArray<string> = []
  if (secretName) {
    const variables = yield* readSecretVariables({
      secretName,
      region: env.AWS_REGION?.trim() || undefined,
      endpoint: env.AWS_ENDPOINT_URL_SECRETS_MANAGER?.trim() || env.AWS_ENDPOINT_URL?.trim() || undefined,
      credentials: staticCredentials(env)
    })
    fromSecret = Object.keys(variables).filter((name) => !env[name]?.trim())
    merged = { ...variables, ...env }
    for (const name of fromSecret) merged[name] = variables[name]!
  }
  const config: AppConfig = yield* Effect.fromResult(loadAppConfig(merged))
  return {
    ...config,
    notes:
      secretName && fromSecret.length > 0
        ? [
            ...config.notes,
            `${fromSecret.length} variables from the secret ${secretName}: ${[...fromSecret].sort().join(", ")}`
          ]
        : config.notes
  } satisfies AppConfig
})
