import { execFileSync } from "node:child_process"
import { availableParallelism, cpus, loadavg, totalmem } from "node:os"

/** The facts a figure needs next to it to be read later: what ran it, on what, when, at which commit. */
export interface Machine {
  readonly date: string
  readonly node: string
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly loadAverage: string
  readonly commit: string
  readonly loadTool: string
}

const quiet = (command: string, args: ReadonlyArray<string>): string | undefined => {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim()
  } catch {
    return undefined
  }
}

export const wrkVersion = (): string | undefined => {
  // `wrk -v` prints its version and exits 1.
  try {
    execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch (error) {
    const output = String((error as { stdout?: string }).stdout ?? "")
    const match = /wrk (\S+)/.exec(output)
    if (match !== null) return `wrk ${match[1]}`
  }
  return undefined
}

export const describeMachine = (): Machine => {
  const commit = quiet("git", ["rev-parse", "--short", "HEAD"])
  // RESULTS.md is the suite's own output: appending to it does not change what is measured.
  const dirty =
    (quiet("git", [
      "status",
      "--porcelain",
      "--untracked-files=no",
      "--",
      ":(top)",
      ":(top,exclude)bench/RESULTS.md"
    ]) ?? "") !== ""
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    node: process.version,
    cpu: cpus()[0]?.model.trim() ?? "unknown",
    cores: availableParallelism(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    loadAverage: loadavg()
      .map((value) => value.toFixed(2))
      .join(" "),
    commit: commit === undefined ? "unknown" : `${commit}${dirty ? " (uncommitted changes)" : ""}`,
    loadTool: wrkVersion() ?? "autocannon (wrk not installed)"
  }
}

export const formatMachine = (machine: Machine, options: { readonly date: boolean } = { date: true }): string =>
  `${options.date ? `${machine.date} · ` : ""}Node ${machine.node} · ${machine.cpu} · ${machine.cores} cores · ` +
  `${machine.memoryGiB} GiB · load average ${machine.loadAverage} at start · commit ${machine.commit} · ` +
  `HTTP load: ${machine.loadTool}`
