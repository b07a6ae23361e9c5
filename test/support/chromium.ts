import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

/** Debian's Chromium, or the one `CHROMIUM_PATH` names. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium"

export const chromium = existsSync(CHROMIUM_PATH)
  ? { available: true as const, reason: "" }
  : { available: false as const, reason: `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium)` }

type Listener = (params: any, sessionId: string | undefined) => void

/**
 * A headless Chromium driven over the DevTools protocol with Node's own WebSocket: no browser-automation
 * dependency. A fresh profile per launch, every background service that would reach out switched off.
 */
export interface Browser {
  readonly send: (method: string, params?: object, sessionId?: string) => Promise<any>
  readonly on: (event: string, listener: Listener) => void
  /** Resolves with the next `event` (optionally for one session) that `test` accepts. */
  readonly next: (event: string, sessionId?: string, test?: (params: any) => boolean) => Promise<any>
  readonly close: () => Promise<void>
}

const devToolsUrl = (child: ChildProcess): Promise<string> =>
  new Promise((resolve, reject) => {
    let seen = ""
    const timer = setTimeout(() => reject(new Error(`Chromium did not start: ${seen.slice(-500)}`)), 60_000)
    child.stderr!.on("data", (chunk: Buffer) => {
      seen += chunk.toString()
      const match = /DevTools listening on (ws:\/\/\S+)/.exec(seen)
      if (match !== null) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    child.once("exit", (code) => {
      clearTimeout(timer)
      reject(new Error(`Chromium exited with ${code}: ${seen.slice(-500)}`))
    })
  })

export const launchChromium = async (): Promise<Browser> => {
  const profile = mkdtempSync(join(tmpdir(), "bg-ingest-chromium-"))
  const child = spawn(
    CHROMIUM_PATH,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-default-apps",
      "--disable-extensions",
      "--disable-sync",
      "--no-first-run",
      "--no-default-browser-check",
      "--mute-audio",
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      `--user-data-dir=${profile}`,
      "about:blank"
    ],
    { stdio: ["ignore", "ignore", "pipe"] }
  )
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const cleanUp = async () => {
    if (child.exitCode === null) child.kill("SIGKILL")
    await exited
    rmSync(profile, { recursive: true, force: true })
  }
  let socket: WebSocket
  try {
    socket = new WebSocket(await devToolsUrl(child))
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve, { once: true })
      socket.addEventListener("error", reject, { once: true })
    })
  } catch (error) {
    await cleanUp()
    throw error
  }
  let lastId = 0
  const pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>()
  const listeners = new Map<string, Array<Listener>>()
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data))
    if (message.id !== undefined) {
      const call = pending.get(message.id)
      pending.delete(message.id)
      if (message.error) call?.reject(new Error(`${message.error.message} (${message.error.code})`))
      else call?.resolve(message.result)
    } else {
      for (const listener of listeners.get(message.method) ?? []) listener(message.params, message.sessionId)
    }
  })
  const on = (event: string, listener: Listener) => listeners.set(event, [...(listeners.get(event) ?? []), listener])
  return {
    send: (method, params = {}, sessionId) =>
      new Promise((resolve, reject) => {
        const id = ++lastId
        pending.set(id, { resolve, reject })
        socket.send(JSON.stringify({ id, method, params, ...(sessionId === undefined ? {} : { sessionId }) }))
      }),
    on,
    next: (event, sessionId, test = () => true) =>
      new Promise((resolve) => {
        let done = false
        on(event, (params, from) => {
          if (!done && (sessionId === undefined || from === sessionId) && test(params)) {
            done = true
            resolve(params)
          }
        })
      }),
    close: async () => {
      socket.close()
      await cleanUp()
    }
  }
}
