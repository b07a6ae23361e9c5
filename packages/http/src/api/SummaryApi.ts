import { TimeZoneName } from "@bg-ingest/domain"
import { Schema } from "effect"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "effect/http-api"
import { ApiKeyAuth } from "./ApiKeyAuth.ts"
import { UtcSeconds } from "./Json.ts"
import { BadRequestProblem, DependencyUnavailable } from "./Problems.ts"
import { UserIdParams } from "./ReadingsApi.ts"
import { Rfc3339Instant } from "./Rfc3339.ts"

export const DEFAULT_SUMMARY_DAYS = 14
export const MAX_SUMMARY_DAYS = 90
/** The most readings a summary reads: a sensor reading every minute for the longest window. */
export const MAX_SUMMARY_READINGS = MAX_SUMMARY_DAYS * 24 * 60

export const SummaryQuery = {
  from: Schema.optional(Rfc3339Instant).annotate({
    description: `Inclusive. Default: \`to\` − ${DEFAULT_SUMMARY_DAYS} days`
  }),
  to: Schema.optional(Rfc3339Instant).annotate({ description: "Exclusive. Default: now" }),
  tz: Schema.optional(TimeZoneName).annotate({
    description:
      "The IANA time zone of the AGP's times of day and of the report's days, e.g. Europe/Berlin. Default: UTC"
  })
}

const Percent = Schema.Number.annotate({ description: "A percentage rounded half up to one decimal" })
const OneDecimal = Schema.Number.annotate({ description: "Rounded half up to one decimal" })

export const TimeInRangeJson = Schema.Struct({
  very_low_percent: Percent.annotate({ description: "Readings below 54 mg/dL" }),
  low_percent: Percent.annotate({ description: "Readings of 54–69 mg/dL" }),
  target_percent: Percent.annotate({ description: "Readings of 70–180 mg/dL" }),
  high_percent: Percent.annotate({ description: "Readings of 181–250 mg/dL" }),
  very_high_percent: Percent.annotate({ description: "Readings above 250 mg/dL" }),
  tight_target_percent: Percent.annotate({ description: "Readings of 70–140 mg/dL" })
}).annotate({ identifier: "TimeInRange" })

export const AgpBinJson = Schema.Struct({
  minute: Schema.Int.annotate({ description: "Start of the 15-minute bin, in minutes after local midnight" }),
  n: Schema.Int.annotate({ description: "Readings in the bin" }),
  p5: OneDecimal,
  p25: OneDecimal,
  p50: OneDecimal,
  p75: OneDecimal,
  p95: OneDecimal
}).annotate({ identifier: "AgpBin" })

export const SummaryJson = Schema.Struct({
  from: UtcSeconds,
  to: UtcSeconds,
  tz: Schema.String.annotate({ description: "The zone of the AGP and the report's days, as given (default UTC)" }),
  readings: Schema.Int,
  active_percent: Schema.NullOr(Percent).annotate({
    description:
      "100 · readings · interval / (to − from), at most 100; interval is the most common gap between consecutive " +
      "readings (the smaller on a tie). null with fewer than two readings"
  }),
  mean_mg_dl: Schema.NullOr(OneDecimal),
  sd_mg_dl: Schema.NullOr(OneDecimal).annotate({
    description: "Sample standard deviation (n − 1); null with fewer than two readings"
  }),
  cv_percent: Schema.NullOr(OneDecimal).annotate({ description: "100 · sd / mean; null with fewer than two readings" }),
  gmi_percent: Schema.NullOr(Schema.Number).annotate({
    description: "3.31 + 0.02392 · mean (mg/dL), rounded half up to two decimals"
  }),
  time_in_range: Schema.NullOr(TimeInRangeJson),
  hypoglycemia_events: Schema.NullOr(
    Schema.Struct({
      level_1: Schema.Int.annotate({ description: "Events below 70 mg/dL" }),
      level_2: Schema.Int.annotate({ description: "Events below 54 mg/dL" })
    })
  ).annotate({
    description:
      "An event is a run of consecutive readings below the threshold lasting at least 15 minutes (last − first + " +
      "interval); it ends at a run at or above it lasting 15 minutes; readings further apart than 2 · interval break " +
      "a run. null with fewer than two readings"
  }),
  agp: Schema.NullOr(Schema.Array(AgpBinJson)).annotate({
    description:
      "The Ambulatory Glucose Profile: 96 bins of 15 minutes of the local time of day in tz, percentiles by " +
      "linear interpolation between order statistics; bins without readings are left out"
  })
}).annotate({ identifier: "GlycemicSummary" })
export type SummaryJson = typeof SummaryJson.Type

/** The report: one HTML page, its styles and charts inline. */
export const ReportHtml = Schema.String.pipe(HttpApiSchema.asText({ contentType: "text/html" })).annotate({
  description: "A self-contained HTML page: inline SVG and CSS, no script, nothing loaded from elsewhere"
})

const WINDOW =
  `\`from\` inclusive, \`to\` exclusive, at most ${MAX_SUMMARY_DAYS} days apart (default: the last ` +
  `${DEFAULT_SUMMARY_DAYS} days); times need a zone (Z or ±hh:mm). \`tz\` is an IANA zone (default UTC); an unknown ` +
  "zone is a 400 naming tz."

export class SummaryApi extends HttpApiGroup.make("summary")
  .add(
    HttpApiEndpoint.get("summary", "/api/bg/:userId/summary", {
      params: UserIdParams,
      query: SummaryQuery,
      success: SummaryJson,
      error: [BadRequestProblem, DependencyUnavailable]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "Consensus CGM metrics over a window",
        description:
          `${WINDOW} Each reading weighs the same. Ranges on integer mg/dL: very low < 54, low 54–69, target ` +
          "70–180, high 181–250, very high > 250, tight target 70–140. Figures are rounded half up from their exact " +
          "values. Without readings: readings 0 and every other figure null."
      })
    ),
    HttpApiEndpoint.get("report", "/api/bg/:userId/report", {
      params: UserIdParams,
      query: SummaryQuery,
      success: ReportHtml,
      error: [BadRequestProblem, DependencyUnavailable]
    }).annotateMerge(
      OpenApi.annotations({
        summary: "The summary as a printable page (AGP report)",
        description:
          `${WINDOW} The Ambulatory Glucose Profile, the time-in-range bar with the consensus targets, the metrics ` +
          "and one curve per local day, as one HTML page with inline SVG and CSS: no script, nothing fetched from " +
          "elsewhere (its Content-Security-Policy forbids it), laid out for A4 and for a screen."
      })
    )
  )
  .middleware(ApiKeyAuth)
  .annotateMerge(
    OpenApi.annotations({
      title: "Summary",
      description: "Glycemic metrics and the AGP report (consensus definitions)"
    })
  ) {}
