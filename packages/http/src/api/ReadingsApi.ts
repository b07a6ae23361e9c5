import { UserId } from "@bg-ingest/domain"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { ApiKeyAuth } from "./ApiKeyAuth.ts"
import { ReadingJson } from "./Json.ts"
import { BadRequestProblem, DependencyUnavailable, NoReadings } from "./Problems.ts"
import { Rfc3339Instant } from "./Rfc3339.ts"

export const MAX_RANGE_DAYS = 90
export const MAX_RANGE_LIMIT = 50_000
export const DEFAULT_RANGE_HOURS = 24

export const UserIdParams = {
  userId: UserId.annotate({
    description: "1–128 characters of A-Z a-z 0-9 . _ : @ -, starting with a letter or a digit"
  })
}

export const RangeQuery = {
  from: Schema.optional(Rfc3339Instant).annotate({
    description: `Inclusive. Default: \`to\` − ${DEFAULT_RANGE_HOURS} h`
  }),
  to: Schema.optional(Rfc3339Instant).annotate({ description: "Exclusive. Default: now" }),
  limit: Schema.optional(
    Schema.Int.check(
      Schema.isBetween(
        { minimum: 1, maximum: MAX_RANGE_LIMIT },
        { expected: `an integer from 1 to ${MAX_RANGE_LIMIT}` }
      )
    )
  ).annotate({ description: `At most this many readings, oldest first (default and maximum ${MAX_RANGE_LIMIT})` })
}

export class ReadingsApi extends HttpApiGroup.make("readings")
  .add(
    HttpApiEndpoint.get("latest", "/api/bg/:userId/latest", {
      params: UserIdParams,
      success: ReadingJson,
      error: [NoReadings, DependencyUnavailable]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "The user's most recent reading",
        description: "404 when the user has no reading yet."
      })
    ),
    HttpApiEndpoint.get("range", "/api/bg/:userId", {
      params: UserIdParams,
      query: RangeQuery,
      success: Schema.Array(ReadingJson),
      error: [BadRequestProblem, DependencyUnavailable]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "The user's readings in a time window, oldest first",
        description:
          `\`from\` inclusive, \`to\` exclusive, at most ${MAX_RANGE_DAYS} days apart. ` +
          "Times need a zone (Z or ±hh:mm). A user without readings gets an empty array."
      })
    )
  )
  .middleware(ApiKeyAuth)
  .annotateMerge(OpenApi.annotations({ title: "Readings", description: "Blood-glucose readings" })) {}
