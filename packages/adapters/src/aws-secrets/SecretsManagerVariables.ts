import { Config, Effect, Option, Schema } from "effect"
import * as Environment from "../environment/index.ts"

export class SecretsSourceError extends Schema.TaggedError<SecretsSourceError>()("SecretsSourceError", {
  secretName: Schema.String,
  message: Schema.String
}) {}

/** The secret must be a JSON object of variable names to string values (numbers and booleans are allowed too). */
const SecretVariables = Schema.fromJsonString(
  Schema.Record(
    Schema.String.check(Schema.isPattern(/^[A-Z][A-Z0-9_]*$/)),
    Schema.Union([Schema.String, Schema.Finite, Schema.Boolean])
  )
)
const decodeVariables = Schema.decodeUnknownOption(SecretVariables)

const describe = (cause: unknown): string => {
  const name = (cause as { name?: unknown })?.name
  if (name === "ResourceNotFoundException") return "it does not exist"
  if (name === "AccessDeniedException")
    return "access is denied (check the IAM policy for secretsmanager:GetSecretValue)"
  if (name === "CredentialsProviderError") return "no AWS credentials were found"
  const message = cause instanceof Error ? cause.message : String(cause)
  return message.split("\n")[0] ?? "unknown error"
}

export interface SecretSource {
  readonly secretName: string
  readonly region: string | undefined
  /** An endpoint override (a local fake in tests); the SDK's default otherwise. */
  readonly endpoint: string | undefined
  /** Static credentials when the configuration gives them (a `.env` file); the default AWS chain otherwise. */
  readonly credentials?:
    | { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string | undefined }
    | undefined
}

/**
 * Where configuration variables are kept in AWS Secrets Manager, when `SECRET_NAME` says so: `AWS_REGION`,
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` (or `AWS_ENDPOINT_URL`), and the keys `AWS_ACCESS_KEY_ID`,
 * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN` when the configuration gives them (the SDK does not read a `.env`
 * file; without them its own chain decides). Read before the rest of the configuration, which it completes.
 */
export const secretSourceConfig: Config.Config<Option.Option<SecretSource>> = Environment.all({
  secretName: Environment.text("SECRET_NAME"),
  region: Environment.text("AWS_REGION"),
  endpoint: Environment.text("AWS_ENDPOINT_URL_SECRETS_MANAGER"),
  anyEndpoint: Environment.text("AWS_ENDPOINT_URL"),
  accessKeyId: Environment.text("AWS_ACCESS_KEY_ID"),
  secretAccessKey: Environment.text("AWS_SECRET_ACCESS_KEY"),
  sessionToken: Environment.text("AWS_SESSION_TOKEN")
}).pipe(
  Config.map((found) =>
    Option.map(found.secretName, (secretName) => ({
      secretName,
      region: Option.getOrUndefined(found.region),
      endpoint: Option.getOrUndefined(Option.orElse(found.endpoint, () => found.anyEndpoint)),
      credentials:
        Option.isSome(found.accessKeyId) && Option.isSome(found.secretAccessKey)
          ? {
              accessKeyId: found.accessKeyId.value,
              secretAccessKey: found.secretAccessKey.value,
              sessionToken: Option.getOrUndefined(found.sessionToken)
            }
          : undefined
    }))
  )
)

/**
 * Reads a secret from AWS Secrets Manager as configuration variables. Messages name the secret and
 * what went wrong, never a value.
 */
export const readSecretVariables = Effect.fn("SecretsManager.readSecretVariables")(function* (options: SecretSource) {
  // The SDK is loaded only by the starts that read a secret.
  const { GetSecretValueCommand, SecretsManagerClient } = yield* Effect.promise(
    () => import("@aws-sdk/client-secrets-manager")
  )
  const client = yield* Effect.acquireRelease(
    Effect.sync(
      () =>
        new SecretsManagerClient({
          ...(options.region === undefined ? {} : { region: options.region }),
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
          ...(options.credentials === undefined
            ? {}
            : {
                credentials: {
                  accessKeyId: options.credentials.accessKeyId,
                  secretAccessKey: options.credentials.secretAccessKey,
                  ...(options.credentials.sessionToken === undefined
                    ? {}
                    : { sessionToken: options.credentials.sessionToken })
                }
              }),
          maxAttempts: 3
        })
    ),
    (client) => Effect.sync(() => client.destroy())
  )
  const output = yield* Effect.tryPromise({
    try: (signal) => client.send(new GetSecretValueCommand({ SecretId: options.secretName }), { abortSignal: signal }),
    catch: (cause) =>
      new SecretsSourceError({
        secretName: options.secretName,
        message: `Cannot read the secret ${options.secretName} from AWS Secrets Manager: ${describe(cause)}`
      })
  }).pipe(
    Effect.timeout("15 seconds"),
    Effect.catchTag("TimeoutError", () =>
      Effect.fail(
        new SecretsSourceError({
          secretName: options.secretName,
          message: `Cannot read the secret ${options.secretName} from AWS Secrets Manager: no answer within 15 s`
        })
      )
    )
  )
  const variables = decodeVariables(output.SecretString ?? "")
  if (Option.isNone(variables)) {
    return yield* new SecretsSourceError({
      secretName: options.secretName,
      message: `The secret ${options.secretName} must be a JSON object of variable names (A-Z, 0-9, _) to values`
    })
  }
  return Object.fromEntries(Object.entries(variables.value).map(([name, value]) => [name, String(value)]))
}, Effect.scoped)
