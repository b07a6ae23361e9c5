import type { AgpBin } from "@bg-ingest/domain"
import { coordinate, figure, html, type Markup } from "./Html.ts"

const WIDTH = 1000
const HEIGHT = 330
const LEFT = 44
const RIGHT = 36
const TOP = 12
const BOTTOM = 28
const PLOT_WIDTH = WIDTH - LEFT - RIGHT
const PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
const DAY_MINUTES = 1440

/** The y axis reaches 350 mg/dL, or 400 and 600 when the 95th percentile goes above. */
const yMaxOf = (agp: ReadonlyArray<AgpBin>) => {
  const highest = Math.max(...agp.map((bin) => bin.p95))
  return highest <= 350 ? 350 : highest <= 400 ? 400 : 600
}

export const clockOf = (minute: number) =>
  `${String(Math.floor(minute / 60)).padStart(2, "0")}:${String(minute % 60).padStart(2, "0")}`

/** Runs of bins 15 minutes apart: a band or line is not drawn across bins without readings. */
const segments = (agp: ReadonlyArray<AgpBin>): Array<Array<AgpBin>> => {
  const result: Array<Array<AgpBin>> = []
  for (const bin of agp) {
    const last = result.at(-1)
    if (last !== undefined && bin.minute - last.at(-1)!.minute === 15) last.push(bin)
    else result.push([bin])
  }
  return result
}

/**
 * The Ambulatory Glucose Profile over 24 hours: the 5–95 % and 25–75 % bands, the median, and the target range
 * lines at 70 and 180 mg/dL. Each bin carries its figures as data attributes and a tooltip.
 */
export const agpChart = (agp: ReadonlyArray<AgpBin>): Markup => {
  const yMax = yMaxOf(agp)
  const x = (minute: number) => LEFT + (minute / DAY_MINUTES) * PLOT_WIDTH
  const y = (value: number) => TOP + (1 - Math.min(value, yMax) / yMax) * PLOT_HEIGHT
  const points = (bins: ReadonlyArray<AgpBin>, value: (bin: AgpBin) => number) =>
    bins.length === 1
      ? [
          `${coordinate(x(bins[0]!.minute))},${coordinate(y(value(bins[0]!)))}`,
          `${coordinate(x(bins[0]!.minute + 15))},${coordinate(y(value(bins[0]!)))}`
        ]
      : bins.map((bin) => `${coordinate(x(bin.minute + 7.5))},${coordinate(y(value(bin)))}`)
  const runs = segments(agp)
  /** One polygon per run of bins, from `low` to `high`. */
  const bands = (className: string, low: (bin: AgpBin) => number, high: (bin: AgpBin) => number) =>
    runs.map(
      (bins) =>
        html`<polygon class="${className}" points="${[...points(bins, high), ...points(bins, low).reverse()].join(" ")}"/>`
    )
  const yTicks = [0, 70, 180, 250, yMax]
  const hours = Array.from({ length: 9 }, (_, index) => index * 180)
  return html`<svg class="agp" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="agp-title">
  <title id="agp-title">Ambulatory Glucose Profile: median, 25–75 % and 5–95 % of readings by time of day</title>
  <rect class="plot" x="${LEFT}" y="${TOP}" width="${PLOT_WIDTH}" height="${PLOT_HEIGHT}"/>
  <rect class="target-zone" x="${LEFT}" y="${coordinate(y(180))}" width="${PLOT_WIDTH}" height="${coordinate(y(70) - y(180))}"/>
  ${hours.map(
    (
      minute
    ) => html`<line class="grid" x1="${coordinate(x(minute))}" x2="${coordinate(x(minute))}" y1="${TOP}" y2="${TOP + PLOT_HEIGHT}"/>
  <text class="tick" x="${coordinate(x(minute))}" y="${HEIGHT - 8}" text-anchor="middle">${clockOf(minute)}</text>`
  )}
  ${yTicks.map((value) => html`<text class="tick" x="${LEFT - 6}" y="${coordinate(y(value) + 4)}" text-anchor="end">${value}</text>`)}
  ${bands(
    "band-outer",
    (bin) => bin.p5,
    (bin) => bin.p95
  )}
  ${bands(
    "band-inner",
    (bin) => bin.p25,
    (bin) => bin.p75
  )}
  <line class="target-line" x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${coordinate(y(70))}" y2="${coordinate(y(70))}"/>
  <line class="target-line" x1="${LEFT}" x2="${LEFT + PLOT_WIDTH}" y1="${coordinate(y(180))}" y2="${coordinate(y(180))}"/>
  <text class="target-label" x="${LEFT + PLOT_WIDTH + 4}" y="${coordinate(y(70) + 4)}">70</text>
  <text class="target-label" x="${LEFT + PLOT_WIDTH + 4}" y="${coordinate(y(180) + 4)}">180</text>
  ${runs.map((bins) => html`<polyline class="median" points="${points(bins, (bin) => bin.p50).join(" ")}"/>`)}
  ${agp.map(
    (bin) =>
      html`<rect class="bin" data-minute="${bin.minute}" data-n="${bin.n}" data-p5="${bin.p5}" data-p25="${bin.p25}" data-p50="${bin.p50}" data-p75="${bin.p75}" data-p95="${bin.p95}" x="${coordinate(x(bin.minute))}" y="${TOP}" width="${coordinate(PLOT_WIDTH / 96)}" height="${PLOT_HEIGHT}"><title>${clockOf(bin.minute)}–${clockOf(bin.minute + 15)} · ${bin.n} readings · median ${figure(bin.p50)} · 25–75 %: ${figure(bin.p25)}–${figure(bin.p75)} · 5–95 %: ${figure(bin.p5)}–${figure(bin.p95)} mg/dL</title></rect>`
  )}
</svg>`
}
