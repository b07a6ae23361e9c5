import { describeMachine, formatMachine } from "./machine.ts"
import { appendResults, type Row, renderTable } from "./report.ts"

/**
 * Runs benchmarks one after the other, prints the machine and the table, and appends them to bench/RESULTS.md
 * when `record` is set. A benchmark that throws becomes a `skip` row saying why: benchmarks never fail a build.
 */
export const runBenchmarks = async (
  title: string,
  benchmarks: ReadonlyArray<{ readonly name: string; readonly run: () => Promise<ReadonlyArray<Row>> }>,
  options: { readonly record: boolean }
) => {
  const machine = describeMachine()
  process.stdout.write(`${formatMachine(machine)}\n\n`)
  const rows: Array<Row> = []
  for (const benchmark of benchmarks) {
    const started = performance.now()
    process.stdout.write(`${benchmark.name}…\n`)
    try {
      const result = await benchmark.run()
      rows.push(...result)
      process.stdout.write(`${renderTable(result)}\n`)
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error)
      rows.push({
        benchmark: benchmark.name,
        figure: "—",
        baseline: "—",
        ratio: "—",
        target: "—",
        verdict: "skip",
        note: `failed: ${reason.split("\n")[0]}`
      })
      console.error(`${benchmark.name} failed: ${reason}`)
    }
    process.stdout.write(`(${((performance.now() - started) / 1000).toFixed(0)} s)\n\n`)
  }
  process.stdout.write(`${title}\n\n${formatMachine(machine)}\n\n${renderTable(rows)}\n`)
  if (options.record) {
    appendResults(machine, title, rows)
    process.stdout.write("\nAppended to bench/RESULTS.md\n")
  }
  return rows
}

/** `--record` on the command line (npm run bench:<name> -- --record) appends a single benchmark's run too. */
export const recordRequested = () => process.argv.includes("--record")
