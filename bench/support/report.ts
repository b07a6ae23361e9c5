import { appendFileSync, existsSync, writeFileSync } from "node:fs"
import { formatMachine, type Machine } from "./machine.ts"
import { median } from "./stats.ts"

/** pass/miss against a target; `report` when there is no target; `skip` when the benchmark could not run. */
export type Verdict = "pass" | "miss" | "report" | "skip"

/** One line of the table: a figure next to its baseline from the same run, their ratio, and the target. */
export interface Row {
  readonly benchmark: string
  readonly figure: string
  readonly baseline: string
  readonly ratio: string
  readonly target: string
  readonly verdict: Verdict
  /** What bounds the figure, how it was measured, or why it was skipped. */
  readonly note?: string
}

export const atLeast = (ratio: number, target: number): Verdict => (ratio >= target ? "pass" : "miss")
export const atMost = (ratio: number, target: number): Verdict => (ratio <= target ? "pass" : "miss")

const grouped = (value: number, digits = 0) =>
  value.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits })

/** A quantity's number and unit, formatted apart so that a spread of rounds names its unit once. */
export interface Quantity {
  readonly number: (value: number) => string
  readonly unit: string
}

export const rate = (unit: string, sample: number): Quantity => ({
  number: (value) => grouped(value, sample < 100 ? 1 : 0),
  unit: `${unit}/s`
})

/** Milliseconds, shown in the unit that suits `sample` (µs, ms or s). */
export const duration = (sampleMs: number): Quantity =>
  sampleMs < 1
    ? { number: (value) => grouped(value * 1000, 0), unit: "µs" }
    : sampleMs < 10
      ? { number: (value) => value.toFixed(2), unit: "ms" }
      : sampleMs < 1000
        ? { number: (value) => value.toFixed(1), unit: "ms" }
        : { number: (value) => (value / 1000).toFixed(2), unit: "s" }

export const mebibytes: Quantity = { number: (value) => grouped(value / 2 ** 20, 0), unit: "MiB" }

export const show = (quantity: Quantity, value: number) => `${quantity.number(value)} ${quantity.unit}`

/** "median [min…max] unit" of a benchmark's rounds. */
export const spread = (quantity: Quantity, values: ReadonlyArray<number>) => {
  const middle = median(values)
  const low = Math.min(...values)
  const high = Math.max(...values)
  return values.length < 2 || low === high
    ? show(quantity, middle)
    : `${quantity.number(middle)} [${quantity.number(low)}…${quantity.number(high)}] ${quantity.unit}`
}

export const formatRatio = (ratio: number) => (Number.isFinite(ratio) ? `${ratio.toFixed(2)}×` : "—")

const COLUMNS = ["benchmark", "figure", "baseline", "ratio", "target", "result"] as const

const cells = (row: Row) => [row.benchmark, row.figure, row.baseline, row.ratio, row.target, row.verdict]

/** A Markdown table, padded so that it reads in a terminal too, with each row's note listed beneath. */
export const renderTable = (rows: ReadonlyArray<Row>): string => {
  const table = [[...COLUMNS], ...rows.map(cells)]
  const widths = COLUMNS.map((_, column) => Math.max(...table.map((line) => line[column]!.length)))
  const line = (values: ReadonlyArray<string>) =>
    `| ${values.map((value, i) => value.padEnd(widths[i]!)).join(" | ")} |`
  const rule = `|${widths.map((width) => "-".repeat(width + 2)).join("|")}|`
  const notes = rows.filter((row) => row.note !== undefined).map((row) => `- ${row.benchmark}: ${row.note}`)
  return [line(table[0]!), rule, ...table.slice(1).map(line), ...(notes.length > 0 ? ["", ...notes] : [])].join("\n")
}

export const RESULTS_FILE = new URL("../RESULTS.md", import.meta.url)

const RESULTS_HEADER = `# Benchmark results

One section per recorded run, newest last, appended by \`npm run bench\` (see README.md for how to read them).
Absolute figures move with the machine's load; compare ratios, which pair a figure with a baseline of the same run.
`

/** Appends one dated section with the machine and the table to bench/RESULTS.md. */
export const appendResults = (machine: Machine, title: string, rows: ReadonlyArray<Row>) => {
  if (!existsSync(RESULTS_FILE)) writeFileSync(RESULTS_FILE, RESULTS_HEADER)
  appendFileSync(
    RESULTS_FILE,
    `\n## ${machine.date} · ${title}\n\n${formatMachine(machine, { date: false })}\n\n${renderTable(rows)}\n`
  )
}
