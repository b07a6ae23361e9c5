import type { DailyCurve } from "@bg-ingest/domain"
import { coordinate, html, type Markup } from "./Html.ts"

const WIDTH = 160
const HEIGHT = 72
const Y_MAX = 400

const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

/** "Sun 30 Mar" from "2025-03-30" (a calendar date: no zone involved). */
const dayLabel = (date: string) => {
  const [year, month, day] = date.split("-").map(Number) as [number, number, number]
  const weekday = new Date(Date.UTC(year, month - 1, day)).getUTCDay()
  return `${WEEKDAYS[weekday]} ${day} ${MONTHS[month - 1]}`
}

const x = (minute: number) => (minute / 1440) * WIDTH
const y = (value: number) => (1 - Math.min(value, Y_MAX) / Y_MAX) * HEIGHT

/** The day's polylines: a new one wherever the curve breaks (a gap, or clocks set back). */
const lines = (day: DailyCurve): Array<string> => {
  const result: Array<Array<string>> = []
  for (const point of day.points) {
    const vertex = `${coordinate(x(point.minute))},${coordinate(y(point.glucoseMgDl))}`
    if (point.joined && result.length > 0) result.at(-1)!.push(vertex)
    else result.push([vertex])
  }
  return result.map((vertices) => vertices.join(" "))
}

const dayChart = (day: DailyCurve): Markup => {
  const hours = day.hours === 24 ? "" : ` (${day.hours} h)`
  return html`<figure class="day" data-date="${day.date}" data-readings="${day.points.length}">
  <figcaption>${dayLabel(day.date)}${hours}</figcaption>
  <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="Glucose on ${day.date}">
    <rect class="plot" x="0" y="0" width="${WIDTH}" height="${HEIGHT}"/>
    <rect class="target-zone" x="0" y="${coordinate(y(180))}" width="${WIDTH}" height="${coordinate(y(70) - y(180))}"/>
    <line class="grid" x1="${WIDTH / 2}" x2="${WIDTH / 2}" y1="0" y2="${HEIGHT}"/>
    ${lines(day).map((points) =>
      points.includes(" ")
        ? html`<polyline class="curve" points="${points}"/>`
        : html`<circle class="dot" cx="${points.split(",")[0]}" cy="${points.split(",")[1]}" r="1.2"/>`
    )}
    ${day.points.length === 0 ? html`<text class="empty" x="${WIDTH / 2}" y="${HEIGHT / 2 + 4}" text-anchor="middle">no readings</text>` : ""}
  </svg>
</figure>`
}

/** One small chart per local day (00:00–24:00, 0–400 mg/dL, the target range shaded), a week to a row. */
export const dailyCurvesGrid = (days: ReadonlyArray<DailyCurve>): Markup =>
  html`<div class="days">${days.map(dayChart)}</div>`
