import { Config, Option, Schema } from "effect"
import * as Environment from "../environment/index.ts"
import type { DynamoDbOptions } from "./DynamoDbClient.ts"
import { DEFAULT_TABLE, type TableLifecycle } from "./TableLayout.ts"

/** Table names DynamoDB accepts. */
export const TableName = Schema.String.check(
  Schema.isPattern(/^[a-zA-Z0-9_.-]{3,255}$/, { expected: "3–255 characters of a-z A-Z 0-9 _ . -" })
)

/** AWS region names, such as `us-east-1` or `eu-central-1`. */
export const AwsRegion = Schema.String.check(
  Schema.isPattern(/^[a-z]{2}(-[a-z]+)+-\d+$/, { expected: "an AWS region such as us-east-1" })
)

export interface DynamoDbConfigOptions {
  /** `create-if-missing` in development, `require-existing` in staging and production. */
  readonly ensureTable: TableLifecycle
  /** Strict: an endpoint off this machine must be `https://` (readings and credentials cross the network). */
  readonly strictness?: Environment.Strictness
}

/**
 * DynamoDB's part of the environment: `AWS_REGION`, `DYNAMODB_ENDPOINT` (an emulator or a VPC endpoint; a local
 * endpoint without a region talks to us-east-1), `DYNAMODB_TABLE` (default `bg_readings`) and `READING_TTL_DAYS`.
 * Strict, a plain `http://` endpoint is refused unless it is on this machine.
 */
export const dynamoDbConfig = (options: DynamoDbConfigOptions): Config.Config<DynamoDbOptions> =>
  Environment.all({
    region: Environment.optional(
      "AWS_REGION",
      Environment.format(AwsRegion, "must be an AWS region such as us-east-1 or eu-central-1")
    ),
    endpoint: Environment.optional(
      "DYNAMODB_ENDPOINT",
      Environment.refine(Environment.url(["http", "https"]), (url) =>
        options.strictness?._tag === "Strict" && url.protocol === "http:" && !Environment.isLoopbackHost(url.hostname)
          ? `must be https:// for a host that is not this machine ${options.strictness.because}`
          : undefined
      )
    ),
    table: Environment.withDefault(
      "DYNAMODB_TABLE",
      Environment.format(TableName, "must be 3–255 characters of a-z A-Z 0-9 _ . -"),
      DEFAULT_TABLE
    ),
    readingTtlDays: Environment.optional("READING_TTL_DAYS", Environment.integer({ min: 1, max: 36_500 }))
  }).pipe(
    Config.map(
      ({ region, endpoint, table, readingTtlDays }): DynamoDbOptions => ({
        region: Option.getOrUndefined(region) ?? (Option.isSome(endpoint) ? "us-east-1" : undefined),
        endpoint: Option.getOrUndefined(Option.map(endpoint, (url) => url.toString().replace(/\/$/, ""))),
        table,
        ensureTable: options.ensureTable,
        readingTtlDays: Option.getOrUndefined(readingTtlDays)
      })
    )
  )
