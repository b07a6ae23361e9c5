import type { DailyCurve, GlycemicSummary } from "@bg-ingest/domain"
import { agpChart } from "./AgpChart.ts"
import { dailyCurvesGrid } from "./DailyCurvesChart.ts"
import { html, Markup } from "./Html.ts"
import { localTime, metricsTable, periodDays } from "./MetricsTable.ts"
import { timeInRangeBar } from "./TimeInRangeBar.ts"

/**
 * The page needs nothing but itself: inline styles and inline SVG. Its policy forbids every fetch, script, frame
 * and form, so a browser loads nothing else even if the markup asked it to.
 */
export const REPORT_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

export const REPORT_HEADERS = {
  "content-security-policy": REPORT_CSP,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store"
} as const

const STYLE = new Markup(`
@page { size: A4; margin: 10mm }
:root { color-scheme: light; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1b1f24 }
body { margin: 0; background: #fff }
.report { max-width: 1160px; margin: 0 auto; padding: 20px }
header { display: flex; justify-content: space-between; align-items: baseline; gap: 16px; flex-wrap: wrap; border-bottom: 3px solid #1d3f72; padding-bottom: 8px }
h1 { font-size: 22px; margin: 0 }
.who { margin: 0; font-size: 14px; color: #3a4149 }
h2 { font-size: 14px; text-transform: uppercase; letter-spacing: .05em; color: #1d3f72; border-bottom: 1px solid #c5ccd4; padding-bottom: 3px; margin: 18px 0 8px }
.overview { display: grid; grid-template-columns: 3fr 2fr; gap: 28px }
table.metrics { width: 100%; border-collapse: collapse; font-size: 13.5px }
.metrics th, .metrics td { text-align: left; padding: 5px 6px; border-bottom: 1px solid #e3e6ea; vertical-align: top }
.metrics th { font-weight: 500 }
.metrics td.figure { font-weight: 700; white-space: nowrap; text-align: right }
.metrics td.target { font-size: 12.5px; color: #3a4149; white-space: nowrap }
.goal { font-size: 12px; white-space: nowrap }
.goal.met { color: #2e7d32 }
.goal.missed { color: #b71c1c; font-weight: 600 }
.tir { display: flex; gap: 14px }
.tir-bar { width: 56px; height: 300px; flex: none; border: 1px solid #9aa4ae }
.tir-legend { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; justify-content: space-between; font-size: 13.5px }
.tir-legend li { display: grid; grid-template-columns: 14px auto 1fr auto; column-gap: 6px; align-items: baseline }
.tir-legend .range { color: #5a626b; font-size: 12px }
.tir-legend .value { text-align: right }
.tir-legend .goal { grid-column: 2 / 5; white-space: normal }
.swatch { width: 12px; height: 12px; border-radius: 2px; display: inline-block }
.very-high .swatch, rect.very-high { background: #e65100; fill: #e65100 }
.high .swatch, rect.high { background: #ffb300; fill: #ffb300 }
.target .swatch, rect.target { background: #43a047; fill: #43a047 }
.low .swatch, rect.low { background: #e53935; fill: #e53935 }
.very-low .swatch, rect.very-low { background: #8e0000; fill: #8e0000 }
.note { font-size: 12.5px; color: #3a4149; margin: 0 0 6px }
.key { display: inline-block; width: 18px; height: 10px; margin: 0 4px 0 10px; vertical-align: baseline }
.key.outer { background: #c9daf0 } .key.inner { background: #6f9bd1 } .key.median { height: 3px; background: #1d3f72; vertical-align: middle }
.key.range { height: 2px; background: #2e7d32; vertical-align: middle }
svg.agp { width: 100%; height: auto; display: block }
.plot { fill: #fff; stroke: #9aa4ae }
.target-zone { fill: #edf7ee }
.grid { stroke: #e3e6ea }
.tick, .target-label { font-size: 11px; fill: #5a626b }
.target-label { fill: #2e7d32; font-weight: 600 }
.band-outer { fill: #c9daf0 }
.band-inner { fill: #6f9bd1 }
.median { fill: none; stroke: #1d3f72; stroke-width: 2.5; stroke-linejoin: round }
.target-line { stroke: #2e7d32; stroke-width: 1.5 }
.bin { fill: transparent }
.bin:hover { fill: rgba(29, 63, 114, .08) }
.days { display: grid; grid-template-columns: repeat(7, 1fr); gap: 6px 8px }
.day { margin: 0 }
.day figcaption { font-size: 11px; color: #3a4149 }
.day svg { width: 100%; height: auto; display: block }
.curve { fill: none; stroke: #1d3f72; stroke-width: 1; stroke-linejoin: round }
.dot { fill: #1d3f72 }
.empty { font-size: 10px; fill: #8a939c }
.none { font-size: 15px; padding: 24px 0 }
footer { margin-top: 18px; border-top: 1px solid #c5ccd4; padding-top: 6px; font-size: 11.5px; color: #5a626b }
@media screen and (max-width: 760px) { .overview { grid-template-columns: 1fr } .days { grid-template-columns: repeat(4, 1fr) } }
@media print {
  body { -webkit-print-color-adjust: exact; print-color-adjust: exact }
  .report { max-width: none; padding: 0 }
  h1 { font-size: 18px }
  .who { font-size: 12px }
  h2 { margin: 10px 0 6px }
  .overview { gap: 16px }
  table.metrics, .tir-legend { font-size: 11.5px }
  .metrics th, .metrics td { padding: 3px 4px }
  .goal, .metrics td.target, .tir-legend .range { font-size: 10.5px }
  .tir-bar { height: 240px }
  .note { font-size: 11px }
  .day figcaption { font-size: 9.5px }
  footer { font-size: 10px }
  .overview, .profile, .day, tr { break-inside: avoid }
  h2 { break-after: avoid }
  .bin:hover { fill: transparent }
}
`)

export interface ReportInput {
  readonly userId: string
  readonly summary: GlycemicSummary
  readonly days: ReadonlyArray<DailyCurve>
}

const body = ({ summary, days }: ReportInput): Markup => {
  if (summary.readings === 0) {
    return html`<p class="none">No readings in this period.</p>
<section><h2>Glucose statistics and targets</h2>${metricsTable(summary)}</section>`
  }
  return html`<section class="overview">
  <div><h2>Glucose statistics and targets</h2>${metricsTable(summary)}</div>
  <div><h2>Time in ranges</h2>${timeInRangeBar(summary.timeInRange!, summary.rangeCounts!, summary.readings)}</div>
</section>
<section class="profile">
  <h2>Ambulatory Glucose Profile</h2>
  <p class="note">All days of the period laid over one day in ${summary.timeZone} time, in 15-minute bins:
    <span class="key median"></span>median <span class="key inner"></span>25–75 % <span class="key outer"></span>5–95 %
    <span class="key range"></span>target range 70–180 mg/dL</p>
  ${agpChart(summary.agp!)}
</section>
<section class="daily">
  <h2>Daily glucose profiles</h2>
  <p class="note">Each day from 00:00 to 24:00 in ${summary.timeZone} time, 0–400 mg/dL, the target range shaded.</p>
  ${dailyCurvesGrid(days)}
</section>`
}

/** The whole report page: self-contained HTML for a browser at 1200 px and for A4 paper. */
export const renderReport = (input: ReportInput): string => {
  const { summary } = input
  const period = `${localTime(summary.from, summary.timeZone)} – ${localTime(summary.to, summary.timeZone)}`
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>AGP report · ${input.userId} · ${period}</title>
<style>${STYLE}</style>
</head>
<body>
<main class="report">
<header>
  <h1>Ambulatory Glucose Profile report</h1>
  <p class="who">User <strong data-field="user_id">${input.userId}</strong> · ${period} (${periodDays(summary)} days) · time zone <strong data-field="tz">${summary.timeZone}</strong></p>
</header>
${body(input)}
<footer>Computed by bg-ingest from ${summary.readings.toLocaleString("en-US")} readings, each weighted equally. Ranges, targets and hypoglycemia events follow the international consensus on time in range (Battelino et al., Diabetes Care 2019); GMI = 3.31 + 0.02392 × mean glucose (mg/dL). Figures are rounded half up.</footer>
</main>
</body>
</html>
`.text
}
