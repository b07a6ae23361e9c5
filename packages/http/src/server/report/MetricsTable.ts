import type { GlycemicSummary } from "@bg-ingest/domain"
import { DateTime } from "effect"
import { figure, html, type Interpolated, type Markup } from "./Html.ts"

/** A local date and time in the summary's zone, e.g. "24 Mar 2025, 00:00". */
export const localTime = (instant: DateTime.Utc, timeZone: string): string =>
  new Intl.DateTimeFormat("en-GB", { timeZone, dateStyle: "medium", timeStyle: "short", hourCycle: "h23" }).format(
    DateTime.toEpochMillis(instant)
  )

export const periodDays = (summary: GlycemicSummary): number =>
  Math.round((DateTime.toEpochMillis(summary.to) - DateTime.toEpochMillis(summary.from)) / 8_640_000) / 10

const interval = (seconds: number | null) =>
  seconds === null ? "—" : seconds % 60 === 0 ? `${seconds / 60} min` : `${seconds} s`

/** A row whose value cell names its field of the summary's JSON and holds the value exactly as the JSON has it. */
const row = (
  name: Interpolated,
  field: string,
  value: number | null,
  shown: (value: number) => string,
  goal: Interpolated = ""
): Markup =>
  html`<tr><th scope="row">${name}</th><td class="figure" data-field="${field}" data-value="${value === null ? "null" : String(value)}">${value === null ? "—" : shown(value)}</td><td class="target">${goal}</td></tr>`

const judged = (met: boolean, text: string) =>
  html`<span class="goal ${met ? "met" : "missed"}">goal ${text} ${met ? "✓" : "✗"}</span>`

/** The metrics, each with its consensus goal where there is one. */
export const metricsTable = (summary: GlycemicSummary): Markup => {
  const mgDl = (value: number) => `${figure(value)} mg/dL`
  const percent = (value: number) => `${figure(value)} %`
  const count = (value: number) => value.toLocaleString("en-US")
  return html`<table class="metrics">
  <tbody>
    <tr><th scope="row">Period</th><td colspan="2">${localTime(summary.from, summary.timeZone)} – ${localTime(summary.to, summary.timeZone)} (${periodDays(summary)} days)</td></tr>
    ${row("Readings", "readings", summary.readings, count, `one every ${interval(summary.intervalSeconds)}`)}
    ${row("Time CGM active", "active_percent", summary.activePercent, percent, summary.activePercent === null ? "" : judged(summary.activePercent > 70, "> 70 %"))}
    ${row("Mean glucose", "mean_mg_dl", summary.meanMgDl, mgDl)}
    ${row("Glucose management indicator (GMI)", "gmi_percent", summary.gmiPercent, (value) => `${figure(value, 2)} %`)}
    ${row("Glucose variability (CV)", "cv_percent", summary.cvPercent, percent, summary.cvPercent === null ? "" : judged(summary.cvPercent <= 36, "≤ 36 %"))}
    ${row("Standard deviation", "sd_mg_dl", summary.sdMgDl, mgDl)}
    ${row("Time in tight range 70–140 mg/dL", "time_in_range.tight_target_percent", summary.timeInRange?.tightTargetPercent ?? null, percent)}
    ${row("Hypoglycemia events, level 1 (< 70 mg/dL, ≥ 15 min)", "hypoglycemia_events.level_1", summary.hypoglycemiaEvents?.level1 ?? null, count)}
    ${row("Hypoglycemia events, level 2 (< 54 mg/dL, ≥ 15 min)", "hypoglycemia_events.level_2", summary.hypoglycemiaEvents?.level2 ?? null, count)}
  </tbody>
</table>`
}
