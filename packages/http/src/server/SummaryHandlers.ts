import {
  dailyCurves,
  formatInstant,
  type GlycemicSummary,
  makeWindow,
  ReadingStore,
  summarize,
  type TimeWindow,
  TimeZoneName,
  type UserId
} from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Metric } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { BadRequestProblem } from "../api/Problems.ts"
import { DEFAULT_SUMMARY_DAYS, MAX_SUMMARY_DAYS, MAX_SUMMARY_READINGS, type SummaryJson } from "../api/SummaryApi.ts"
import { toProblem } from "./DomainProblems.ts"
import { REPORT_HEADERS, renderReport } from "./report/ReportPage.ts"
import { makeTurns, readInPieces } from "./Turns.ts"

const MAX_WINDOW = Duration.days(MAX_SUMMARY_DAYS)
/**
 * Summaries and reports computed at once in the process, and one at a time per user: each holds up to 129,600
 * readings (some 30 MB) while it runs, so that thirty at once took a gigabyte. The others wait for their turn.
 */
export const CONCURRENT_SUMMARIES = 2

const summariesWaiting = Metric.gauge("bg_ingest_summaries_waiting", {
  description: "Summaries and reports waiting for their turn to be computed"
})
const UTC = TimeZoneName.make("UTC")

const invalidQuery = (field: "from" | "to", message: string) =>
  new BadRequestProblem({
    detail: `Invalid query parameter ${field}: ${message}`,
    errors: [{ path: ["query", field], message }]
  })

interface SummaryQuery {
  readonly from?: DateTime.Utc | undefined
  readonly to?: DateTime.Utc | undefined
  readonly tz?: TimeZoneName | undefined
}

/** The window a query asks for: `to` defaults to now and `from` to 14 days before it; at most 90 days. */
const windowOf = Effect.fnUntraced(function* (query: SummaryQuery) {
  const to = query.to ?? (yield* DateTime.now)
  const from = query.from ?? DateTime.subtract(to, { days: DEFAULT_SUMMARY_DAYS })
  if (DateTime.isGreaterThan(from, to)) return yield* invalidQuery("from", "must not be after to")
  if (Duration.isGreaterThan(DateTime.distance(from, to), MAX_WINDOW)) {
    return yield* invalidQuery(
      query.from === undefined ? "to" : "from",
      `from is more than ${MAX_SUMMARY_DAYS} days before to`
    )
  }
  return makeWindow(from, to)
})

export const toSummaryJson = (summary: GlycemicSummary): SummaryJson => ({
  from: formatInstant(summary.from),
  to: formatInstant(summary.to),
  tz: summary.timeZone,
  readings: summary.readings,
  active_percent: summary.activePercent,
  mean_mg_dl: summary.meanMgDl,
  sd_mg_dl: summary.sdMgDl,
  cv_percent: summary.cvPercent,
  gmi_percent: summary.gmiPercent,
  time_in_range:
    summary.timeInRange === null
      ? null
      : {
          very_low_percent: summary.timeInRange.veryLowPercent,
          low_percent: summary.timeInRange.lowPercent,
          target_percent: summary.timeInRange.targetPercent,
          high_percent: summary.timeInRange.highPercent,
          very_high_percent: summary.timeInRange.veryHighPercent,
          tight_target_percent: summary.timeInRange.tightTargetPercent
        },
  hypoglycemia_events:
    summary.hypoglycemiaEvents === null
      ? null
      : { level_1: summary.hypoglycemiaEvents.level1, level_2: summary.hypoglycemiaEvents.level2 },
  agp: summary.agp
})

/**
 * Needs a `ReadingStore`. The summary and the report read the user's readings of the window once and compute in
 * one pass (the domain's `summarize`); the report also draws each local day's curve.
 */
export const SummaryHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "summary",
  Effect.fn(function* (handlers) {
    const store = yield* ReadingStore
    const inTurn = makeTurns(CONCURRENT_SUMMARIES, summariesWaiting)

    /** The window's readings, read in pieces (other requests are served between them). */
    const readingsOf = Effect.fnUntraced(function* (userId: UserId, window: TimeWindow) {
      const readings = yield* readInPieces(
        (piece, limit, order) => store.range(userId, piece, limit, order),
        window,
        MAX_SUMMARY_READINGS + 1,
        "oldestFirst"
      ).pipe(Effect.catch(toProblem))
      if (readings.length > MAX_SUMMARY_READINGS) {
        return yield* invalidQuery(
          "from",
          `the window holds more than ${MAX_SUMMARY_READINGS.toLocaleString("en-US")} readings; ask for a shorter one`
        )
      }
      return readings
    })

    return handlers
      .handle(
        "summary",
        Effect.fnUntraced(function* ({ params, query }) {
          const window = yield* windowOf(query)
          return yield* inTurn(
            params.userId,
            Effect.gen(function* () {
              const readings = yield* readingsOf(params.userId, window)
              yield* Effect.yieldNow
              return toSummaryJson(summarize(readings, window, query.tz ?? UTC))
            })
          )
        })
      )
      .handle(
        "report",
        Effect.fnUntraced(function* ({ params, query }) {
          const window = yield* windowOf(query)
          const zone = query.tz ?? UTC
          const page = yield* inTurn(
            params.userId,
            Effect.gen(function* () {
              const readings = yield* readingsOf(params.userId, window)
              yield* Effect.yieldNow
              const summary = summarize(readings, window, zone)
              yield* Effect.yieldNow
              const days = dailyCurves(readings, window, zone, summary.intervalSeconds)
              yield* Effect.yieldNow
              return renderReport({ userId: params.userId, summary, days })
            })
          )
          return HttpServerResponse.text(page, { contentType: "text/html; charset=utf-8", headers: REPORT_HEADERS })
        })
      )
  })
)
