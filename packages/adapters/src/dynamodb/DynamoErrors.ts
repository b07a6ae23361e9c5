import { ConnectionStoreError, ReadingStoreError } from "@bg-ingest/domain"
import { Data, Effect, Schema } from "effect"

/** A DynamoDB call that failed (after the retries it was entitled to). Internal; mapped to a port error. */
export class DynamoFailure extends Data.TaggedError("DynamoFailure")<{
  /** The API operation, such as `UpdateItem`. */
  readonly command: string
  readonly cause: unknown
  /** Where the service was reached, for messages. */
  readonly endpoint: string
  readonly table: string
}> {}

/** The table is missing, lacks an index, or the service cannot be reached or used at start-up. */
export class DynamoDbSetupError extends Schema.TaggedError<DynamoDbSetupError>()("DynamoDbSetupError", {
  table: Schema.String,
  message: Schema.String
}) {}

/** DynamoDB kept leaving part of a batch unprocessed (it does so under throttling) past the retry bound. */
export class UnprocessedItems extends Error {
  override readonly name = "UnprocessedItems"
}

interface SdkErrorShape {
  readonly name?: unknown
  readonly code?: unknown
  readonly message?: unknown
  readonly $metadata?: { readonly httpStatusCode?: number }
}

const shape = (cause: unknown): SdkErrorShape =>
  typeof cause === "object" && cause !== null ? (cause as SdkErrorShape) : {}

export const errorName = (cause: unknown): string => {
  const { name, code } = shape(cause)
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code
  return typeof name === "string" ? name : "Error"
}

const errorMessage = (cause: unknown): string => {
  const { message } = shape(cause)
  return typeof message === "string" && message.length > 0 ? message : String(cause)
}

const throttlingNames = new Set([
  "ProvisionedThroughputExceededException",
  "ThrottlingException",
  "RequestLimitExceeded",
  "LimitExceededException",
  "TransactionConflictException"
])

/** DynamoDB asked us to slow down (or a transaction holds the item): worth another attempt after a pause. */
export const isThrottling = (cause: unknown): boolean => throttlingNames.has(errorName(cause))

export const isConditionFailure = (cause: unknown): boolean => errorName(cause) === "ConditionalCheckFailedException"

/** A write that answers `value` instead of failing when its condition failed (the item was not as it expected). */
export const whenConditionFails =
  <B>(value: B) =>
  <A, R>(write: Effect.Effect<A, DynamoFailure, R>): Effect.Effect<A | B, DynamoFailure, R> =>
    Effect.catchIf(
      write,
      (failure) => isConditionFailure(failure.cause),
      () => Effect.succeed(value)
    )

const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE"
])

const credentialNames = new Set([
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "ExpiredTokenException",
  "MissingAuthenticationTokenException",
  "IncompleteSignatureException",
  "InvalidClientTokenId"
])

/**
 * One sentence saying what went wrong and what to check, without a stack trace and without any request
 * content (readings are health data).
 */
export const describeFailure = (failure: DynamoFailure): string => {
  const { cause, command, endpoint, table } = failure
  const name = errorName(cause)
  const message = errorMessage(cause)
  if (name === "ResourceNotFoundException") {
    return `DynamoDB table "${table}" (or one of its indexes) does not exist at ${endpoint}`
  }
  if (name === "CredentialsProviderError") {
    return `No AWS credentials: the default provider chain (environment, shared config and SSO, web identity, container or instance role) found none (${message})`
  }
  if (credentialNames.has(name)) return `DynamoDB at ${endpoint} rejected the AWS credentials: ${name}: ${message}`
  if (name === "AccessDeniedException") {
    return `DynamoDB ${command} on table "${table}" is not allowed for these credentials (see docs/dynamodb.md for the IAM policy): ${message}`
  }
  if (networkCodes.has(name) || name === "TimeoutError" || name === "RequestTimeout") {
    return `DynamoDB at ${endpoint} is unreachable (${name}${message === name ? "" : `: ${message}`})`
  }
  if (/region is missing/i.test(message)) return "No AWS region: set AWS_REGION"
  if (name === "UnprocessedItems") return `DynamoDB ${command} on table "${table}" failed: ${message}`
  if (isThrottling(cause)) return `DynamoDB kept throttling ${command} on table "${table}" after every retry (${name})`
  return `DynamoDB ${command} on table "${table}" failed: ${name}: ${message}`
}

export const toReadingStoreError =
  (operation: ReadingStoreError["operation"]) =>
  (failure: DynamoFailure): ReadingStoreError =>
    new ReadingStoreError({ operation, message: describeFailure(failure), cause: failure.cause })

export const toConnectionStoreError =
  (operation: ConnectionStoreError["operation"]) =>
  (failure: DynamoFailure): ConnectionStoreError =>
    new ConnectionStoreError({ operation, message: describeFailure(failure), cause: failure.cause })
