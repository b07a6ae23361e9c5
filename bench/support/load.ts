import { execFile } from "node:child_process"
import { join } from "node:path"
import { promisify } from "node:util"
import { wrkVersion } from "./machine.ts"
import { REPOSITORY } from "./processes.ts"

const run = promisify(execFile)

export interface LoadOptions {
  readonly url: string
  readonly connections: number
  readonly seconds: number
  /** Request headers (an API key, say), as `name: value`. */
  readonly headers?: ReadonlyArray<string>
}

export interface LoadResult {
  readonly requestsPerSecond: number
  readonly p50Ms: number
  readonly p99Ms: number
  readonly requests: number
  /** Non-2xx answers, socket errors and timeouts: a run with any is not a measurement. */
  readonly errors: number
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 }

const durationMs = (text: string): number => {
  const match = /^([\d.]+)(us|ms|s|m)$/.exec(text)
  if (match === null) throw new Error(`wrk: cannot read the duration ${text}`)
  return Number(match[1]) * UNIT_MS[match[2]!]!
}

const percentile = (output: string, label: string) => {
  const match = new RegExp(`^\\s+${label}%\\s+(\\S+)`, "m").exec(output)
  if (match === null) throw new Error(`wrk: no ${label}th percentile in:\n${output}`)
  return durationMs(match[1]!)
}

/** Parses `wrk --latency` output. */
export const parseWrk = (output: string): LoadResult => {
  const rate = /^Requests\/sec:\s+([\d.]+)/m.exec(output)
  const total = /^\s+(\d+) requests in/m.exec(output)
  if (rate === null || total === null) throw new Error(`wrk: unexpected output:\n${output}`)
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(output)?.[1] ?? 0)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output)
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((sum, value) => sum + Number(value), 0)
  return {
    requestsPerSecond: Number(rate[1]),
    p50Ms: percentile(output, "50"),
    p99Ms: percentile(output, "99"),
    requests: Number(total[1]),
    errors: non2xx + socketErrors
  }
}

const hasWrk = wrkVersion() !== undefined

/** wrk's threads: two, as the issue measures (`wrk -t2 -c50`), and never more than the connections. */
export const WRK_THREADS = 2

/**
 * Drives `url` from a second process on loopback with `connections` keep-alive connections for `seconds`: wrk
 * with two threads (`-t2`, as users measured it), or autocannon when wrk is not installed.
 */
export const load = async (options: LoadOptions): Promise<LoadResult> => {
  if (hasWrk) {
    const { stdout } = await run(
      "wrk",
      [
        `-t${Math.min(WRK_THREADS, options.connections)}`,
        `-c${options.connections}`,
        `-d${options.seconds}s`,
        "--timeout",
        "30s",
        "--latency",
        ...(options.headers ?? []).flatMap((header) => ["-H", header]),
        options.url
      ],
      { maxBuffer: 1 << 20 }
    )
    return parseWrk(stdout)
  }
  const { stdout } = await run(
    process.execPath,
    [
      join(REPOSITORY, "node_modules/autocannon/autocannon.js"),
      "-c",
      String(options.connections),
      "-d",
      String(options.seconds),
      "-t",
      "30",
      "-j",
      ...(options.headers ?? []).flatMap((header) => ["-H", header]),
      options.url
    ],
    { maxBuffer: 16 << 20 }
  )
  const result = JSON.parse(stdout) as {
    requests: { average: number; total: number }
    latency: { p50: number; p99: number }
    non2xx: number
    errors: number
    timeouts: number
  }
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    requests: result.requests.total,
    errors: result.non2xx + result.errors + result.timeouts
  }
}
