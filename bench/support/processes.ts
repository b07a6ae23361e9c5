import { type ChildProcess, spawn } from "node:child_process"
import { readFileSync } from "node:fs"
import { createServer } from "node:net"
import { setTimeout as sleep } from "node:timers/promises"
import { fileURLToPath } from "node:url"

export const REPOSITORY = fileURLToPath(new URL("../../", import.meta.url))
export const SOURCE_CONDITION = "--conditions=@bg-ingest/source"

/** A TCP port free on loopback right now. */
export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

export interface NodeProcess {
  readonly child: ChildProcess
  readonly pid: number
  /** What it wrote to stderr (its stdout, the logs, goes to /dev/null so that the benchmark does not read it). */
  readonly errors: () => string
  readonly exited: Promise<number | null>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  readonly stop: (graceMs?: number) => Promise<number | null>
}

/** Starts `node [nodeArgs] script [args]` from the repository root with exactly `env` (plus PATH and HOME). */
export const startNode = (
  nodeArgs: ReadonlyArray<string>,
  script: string,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): NodeProcess => {
  const child = spawn(process.execPath, [...nodeArgs, script, ...args], {
    cwd: REPOSITORY,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let errors = ""
  child.stderr?.on("data", (chunk) => {
    errors += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return {
    child,
    pid: child.pid ?? 0,
    errors: () => errors,
    exited,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill("SIGTERM")
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs)
      const code = await exited
      clearTimeout(timer)
      return code
    }
  }
}

/** Polls `url` until it answers 200; resolves with the milliseconds that took, from `since`. */
export const waitUntilOk = async (
  process: NodeProcess,
  url: string,
  since: number,
  timeoutMs = 60_000,
  intervalMs = 10
): Promise<number> => {
  while (true) {
    if (process.child.exitCode !== null) {
      throw new Error(`${url}: the process exited with ${process.child.exitCode}:\n${process.errors()}`)
    }
    const ok = await fetch(url).then(
      async (response) => {
        await response.arrayBuffer()
        return response.status === 200
      },
      () => false
    )
    if (ok) return performance.now() - since
    if (performance.now() - since > timeoutMs) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`)
    await sleep(intervalMs)
  }
}

/** The resident set size of a process in bytes (Linux /proc), or NaN elsewhere. */
export const residentBytes = (pid: number): number => {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8")
    const match = /^VmRSS:\s+(\d+) kB/m.exec(status)
    return match === null ? Number.NaN : Number(match[1]) * 1024
  } catch {
    return Number.NaN
  }
}

/** CPU time (user + system) a process has used so far, in milliseconds (Linux /proc), or NaN elsewhere. */
export const cpuMillis = (pid: number): number => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    // Fields after the parenthesized command name, which may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND
  } catch {
    return Number.NaN
  }
}

// USER_HZ: 100 on every Linux this runs on (getconf CLK_TCK).
const CLOCK_TICKS_PER_SECOND = 100
