import { spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import {
  type GlucosePoint,
  type GlycemicSummary,
  makeWindow,
  summarize,
  type TimeWindow,
  TimeZoneName
} from "@bg-ingest/domain"
import { DateTime } from "effect"

/** An instant from RFC 3339 text (tests name their instants, never "now"). */
export const at = (iso: string): DateTime.Utc => DateTime.makeUnsafe(iso)

export const seconds = (instant: DateTime.Utc) => DateTime.toEpochMillis(instant) / 1000

/** Points every `stepSeconds` from `start`, one per value. */
export const every = (start: DateTime.Utc, stepSeconds: number, values: ReadonlyArray<number>): Array<GlucosePoint> =>
  values.map((glucoseMgDl, index) => ({
    timestamp: DateTime.add(start, { seconds: index * stepSeconds }),
    glucoseMgDl
  }))

/** `count` copies of `value`. */
export const times = (count: number, value: number): Array<number> => Array.from({ length: count }, () => value)

export const windowOf = (from: string, to: string): TimeWindow => makeWindow(at(from), at(to))

/** The summary in a zone named in the test. */
export const summaryOf = (points: ReadonlyArray<GlucosePoint>, window: TimeWindow, zone = "UTC"): GlycemicSummary =>
  summarize(points, window, TimeZoneName.make(zone))

/** A summary's figures in the API's snake_case shape, without from, to and tz: what the oracle answers. */
export const figuresOf = (summary: GlycemicSummary) => ({
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

export interface OracleCase {
  readonly points: ReadonlyArray<GlucosePoint>
  readonly window: TimeWindow
  readonly zone: string
}

const ORACLE = fileURLToPath(new URL("./summary_oracle.py", import.meta.url))

/** Whether Python 3 with numpy and zoneinfo is here to compute the independent summaries. */
export const pythonOracle = (() => {
  const probe = spawnSync("python3", ["-c", "import numpy, zoneinfo; zoneinfo.ZoneInfo('Europe/Berlin')"], {
    encoding: "utf8"
  })
  return probe.status === 0
    ? { available: true as const, reason: "" }
    : { available: false as const, reason: "python3 with numpy and the tz database is not installed" }
})()

/** The oracle's summaries of the cases (see summary_oracle.py), in one Python process. */
export const oracleFigures = (cases: ReadonlyArray<OracleCase>): Array<ReturnType<typeof figuresOf>> => {
  const input = JSON.stringify(
    cases.map((item) => ({
      readings: item.points.map((point) => [seconds(point.timestamp), point.glucoseMgDl]),
      from_ms: DateTime.toEpochMillis(item.window.from),
      to_ms: DateTime.toEpochMillis(item.window.to),
      tz: item.zone
    }))
  )
  const run = spawnSync("python3", [ORACLE], { input, encoding: "utf8", maxBuffer: 256 * 1024 * 1024 })
  if (run.status !== 0) throw new Error(`the oracle failed: ${run.stderr}`)
  return JSON.parse(run.stdout)
}
