import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"

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

export interface ServiceProcess {
  readonly baseUrl: string
  readonly child: ChildProcess
  readonly output: () => string
  /** Sends SIGTERM and resolves with the exit code. */
  readonly stop: () => Promise<number | null>
}

const REPOSITORY = new URL("../../", import.meta.url).pathname

/** Starts bg-ingest as `npm start` does, and resolves when `/ready` answers 200. */
export const startService = async (env: Record<string, string>, timeoutMs = 20_000): Promise<ServiceProcess> => {
  const port = env.PORT ?? String(await freePort())
  let output = ""
  const child = spawn(process.execPath, ["--conditions=@bg-ingest/source", "packages/runner/bin/bg-ingest.mjs"], {
    cwd: REPOSITORY,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...env, PORT: port }
  })
  child.stdout.on("data", (chunk) => {
    output += chunk
  })
  child.stderr.on("data", (chunk) => {
    output += chunk
  })
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const baseUrl = `http://127.0.0.1:${port}`
  const deadline = Date.now() + timeoutMs
  while (true) {
    if (child.exitCode !== null) throw new Error(`bg-ingest exited with ${child.exitCode}:\n${output}`)
    const ready = await fetch(`${baseUrl}/ready`).then(
      (response) => response.status === 200,
      () => false
    )
    if (ready) break
    if (Date.now() > deadline) {
      child.kill("SIGKILL")
      throw new Error(`bg-ingest was not ready within ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    baseUrl,
    child,
    output: () => output,
    stop: () => {
      child.kill("SIGTERM")
      return exited
    }
  }
}
