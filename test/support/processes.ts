import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"

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

const REPOSITORY = new URL("../../", import.meta.url).pathname
const ENTRY = join(REPOSITORY, "packages/runner/bin/bg-ingest.mjs")

/**
 * What a child process takes from the test's own environment: where programs are, and the clock. A test run
 * under libfaketime (`LD_PRELOAD`, `FAKETIME*`) or in another time zone (`TZ`) runs its services at that same
 * shifted instant; nothing else leaks in, so a developer's variables never change what a test sees.
 */
const INHERITED =
  /^(PATH|HOME|TMPDIR|TZ|LANG|LC_ALL|LD_PRELOAD|DYLD_INSERT_LIBRARIES|DYLD_FORCE_FLAT_NAMESPACE|FAKETIME.*|DONT_FAKE_MONOTONIC|NO_FAKE_MONOTONIC)$/
/**
 * libfaketime's own hand-off between processes (a semaphore it holds while it reads the clock), not a setting: a
 * service the test kills with SIGKILL could die holding it and stop every process sharing it. Each service makes
 * its own instead.
 */
const NOT_INHERITED = "FAKETIME_SHARED"

/** The environment for a child process: the inherited variables, then `env`. */
export const childEnvironment = (env: Record<string, string> = {}): Record<string, string> => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(
      (entry): entry is [string, string] =>
        INHERITED.test(entry[0]) && entry[0] !== NOT_INHERITED && entry[1] !== undefined
    )
  ),
  ...env
})

let workingDirectory: string | undefined
/**
 * The services' working directory: an empty one of this test worker's, so that no `.env` of the repository is
 * read by a service under test. Removed when the worker exits.
 */
const scratchCwd = () => {
  if (workingDirectory === undefined) {
    const directory = mkdtempSync(join(tmpdir(), "bg-ingest-cwd-"))
    process.once("exit", () => rmSync(directory, { recursive: true, force: true }))
    workingDirectory = directory
  }
  return workingDirectory
}

const command = (node: string) => [node, ["--conditions=@bg-ingest/source", ENTRY]] as const

export interface ServiceProcess {
  /** `http://127.0.0.1:<port>`. */
  readonly baseUrl: string
  readonly child: ChildProcess
  /** Everything it printed so far, standard output and error interleaved. */
  readonly output: () => string
  /** Resolves once its output matches `pattern`; rejects if it exits first. */
  readonly waitForOutput: (pattern: string | RegExp) => Promise<void>
  /** Resolves when `/ready` answers 200; rejects if it exits first or `timeoutMs` passes. */
  readonly ready: (timeoutMs?: number) => Promise<void>
  /** Resolves with the exit code (null when a signal ended it) once the process has exited. */
  readonly exited: Promise<number | null>
  /** Sends SIGTERM (or `signal`) and resolves with the exit code. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<number | null>
}

/** Starts bg-ingest as `npm start` does, without waiting for anything. */
export const spawnService = async (env: Record<string, string>): Promise<ServiceProcess> => {
  const port = env.PORT ?? String(await freePort())
  let output = ""
  const watchers = new Set<() => void>()
  const [node, args] = command(process.execPath)
  const child = spawn(node, args, { cwd: scratchCwd(), env: childEnvironment({ ...env, PORT: port }) })
  const append = (chunk: Buffer) => {
    output += chunk
    for (const watcher of watchers) watcher()
  }
  child.stdout.on("data", append)
  child.stderr.on("data", append)
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const hasExited = () => child.exitCode !== null || child.signalCode !== null
  const baseUrl = `http://127.0.0.1:${port}`

  const waitForOutput = (pattern: string | RegExp) =>
    new Promise<void>((resolve, reject) => {
      const matches = () => (typeof pattern === "string" ? output.includes(pattern) : pattern.test(output))
      const check = () => {
        if (!matches()) return
        watchers.delete(check)
        resolve()
      }
      watchers.add(check)
      check()
      void exited.then(() => {
        if (!watchers.has(check)) return
        watchers.delete(check)
        reject(new Error(`bg-ingest exited before printing ${pattern}:\n${output}`))
      })
    })

  const ready = async (timeoutMs = 30_000) => {
    const deadline = performance.now() + timeoutMs
    while (true) {
      if (hasExited()) throw new Error(`bg-ingest exited with ${child.exitCode ?? child.signalCode}:\n${output}`)
      const answered = await fetch(`${baseUrl}/ready`).then(
        (response) => response.status === 200,
        () => false
      )
      if (answered) return
      if (performance.now() > deadline) {
        child.kill("SIGKILL")
        throw new Error(`bg-ingest was not ready within ${timeoutMs} ms:\n${output}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  return {
    baseUrl,
    child,
    output: () => output,
    waitForOutput,
    ready,
    exited,
    stop: (signal = "SIGTERM") => {
      if (!hasExited()) child.kill(signal)
      return exited
    }
  }
}

/** Starts bg-ingest as `npm start` does, and resolves when `/ready` answers 200. */
export const startService = async (env: Record<string, string>, timeoutMs = 30_000): Promise<ServiceProcess> => {
  const service = await spawnService(env)
  await service.ready(timeoutMs)
  return service
}

export interface Exited {
  /** The exit code; null when it did not exit by itself within the time allowed. */
  readonly status: number | null
  readonly stdout: string
  readonly stderr: string
}

/**
 * Runs bg-ingest to its end, as a service that refuses to start ends: its exit code and what it printed.
 * `node` runs it with another Node.js binary.
 */
export const runServiceToExit = (
  env: Record<string, string>,
  options: { readonly node?: string; readonly timeoutMs?: number } = {}
): Exited => {
  const [node, args] = command(options.node ?? process.execPath)
  const result = spawnSync(node, options.node === undefined ? args : [ENTRY], {
    cwd: scratchCwd(),
    env: childEnvironment(env),
    encoding: "utf8",
    timeout: options.timeoutMs ?? 30_000,
    killSignal: "SIGKILL"
  })
  return { status: result.status, stdout: result.stdout ?? "", stderr: result.stderr ?? "" }
}
