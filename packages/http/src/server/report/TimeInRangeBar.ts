import { type RangeCounts, roundRatio, type TimeInRange } from "@bg-ingest/domain"
import { coordinate, figure, html, type Markup } from "./Html.ts"

const BAR_WIDTH = 56
const BAR_HEIGHT = 300

interface Goal {
  /** What the goal is about, e.g. "below 70 mg/dL". */
  readonly label: string
  readonly text: string
  /** The share as a number of readings, and whether it meets the goal (exactly, on counts). */
  readonly count: (counts: RangeCounts) => number
  readonly met: (count: number, readings: number) => boolean
}

/** The international consensus targets for most adults with type 1 or type 2 diabetes (Battelino et al., 2019). */
const GOALS = {
  veryHigh: {
    label: "above 250",
    text: "< 5 %",
    count: (c) => c.veryHigh,
    met: (count, n) => 100 * count < 5 * n
  },
  aboveTarget: {
    label: "above 180",
    text: "< 25 %",
    count: (c) => c.high + c.veryHigh,
    met: (count, n) => 100 * count < 25 * n
  },
  target: { label: "70–180", text: "> 70 %", count: (c) => c.target, met: (count, n) => 100 * count > 70 * n },
  belowTarget: {
    label: "below 70",
    text: "< 4 %",
    count: (c) => c.low + c.veryLow,
    met: (count, n) => 100 * count < 4 * n
  },
  veryLow: { label: "below 54", text: "< 1 %", count: (c) => c.veryLow, met: (count, n) => 100 * count < n }
} satisfies Record<string, Goal>

interface Band {
  readonly key: keyof TimeInRange
  readonly field: string
  readonly name: string
  readonly range: string
  readonly className: string
  readonly goal: Goal | null
}

/** Top to bottom, as the bar is stacked. */
const BANDS: ReadonlyArray<Band> = [
  {
    key: "veryHighPercent",
    field: "very_high_percent",
    name: "Very high",
    range: "> 250 mg/dL",
    className: "very-high",
    goal: GOALS.veryHigh
  },
  { key: "highPercent", field: "high_percent", name: "High", range: "181–250 mg/dL", className: "high", goal: null },
  {
    key: "targetPercent",
    field: "target_percent",
    name: "Target",
    range: "70–180 mg/dL",
    className: "target",
    goal: GOALS.target
  },
  { key: "lowPercent", field: "low_percent", name: "Low", range: "54–69 mg/dL", className: "low", goal: null },
  {
    key: "veryLowPercent",
    field: "very_low_percent",
    name: "Very low",
    range: "< 54 mg/dL",
    className: "very-low",
    goal: GOALS.veryLow
  }
]

const goalLine = (goal: Goal, counts: RangeCounts, readings: number, compound: boolean): Markup => {
  const count = goal.count(counts)
  const met = goal.met(count, readings)
  return html`<span class="goal ${met ? "met" : "missed"}">${compound ? `${figure(roundRatio(100 * count, readings, 1))} % ${goal.label}, ` : ""}goal ${goal.text} ${met ? "✓ met" : "✗ not met"}</span>`
}

/**
 * The stacked time-in-range bar, very high on top, with each range's share and the consensus goals (each judged
 * exactly, on the counts of readings rather than on rounded percentages).
 */
export const timeInRangeBar = (ranges: TimeInRange, counts: RangeCounts, readings: number): Markup => {
  let top = 0
  const segments = BANDS.map((band) => {
    const height = (ranges[band.key] / 100) * BAR_HEIGHT
    const segment = html`<rect class="${band.className}" x="0" y="${coordinate(top)}" width="${BAR_WIDTH}" height="${coordinate(height)}"/>`
    top += height
    return segment
  })
  return html`<div class="tir">
  <svg class="tir-bar" viewBox="0 0 ${BAR_WIDTH} ${BAR_HEIGHT}" preserveAspectRatio="none" role="img" aria-label="Time in ranges, stacked">${segments}</svg>
  <ul class="tir-legend">
    ${BANDS.map(
      (band) => html`<li class="${band.className}">
      <span class="swatch"></span><span class="name">${band.name}</span> <span class="range">${band.range}</span>
      <strong class="value" data-field="time_in_range.${band.field}">${figure(ranges[band.key])} %</strong>
      ${band.goal === null ? "" : goalLine(band.goal, counts, readings, false)}
      ${band.key === "highPercent" ? goalLine(GOALS.aboveTarget, counts, readings, true) : ""}
      ${band.key === "lowPercent" ? goalLine(GOALS.belowTarget, counts, readings, true) : ""}
    </li>`
    )}
  </ul>
</div>`
}
