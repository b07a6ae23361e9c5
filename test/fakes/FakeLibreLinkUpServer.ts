/**
 * A fake of LibreLinkUp on loopback (node:http), as docs/libre.md describes it: a global entry point
 * (answering as the US region) and one server per region, each on its own port, listed by
 * `/llu/config/country`'s `regionalMap`; a login at a server that is not the account's home answers a redirect
 * (`status 0`, `data.redirect`, `data.region`); answers carry their meaning in the body's `status` (2 a wrong
 * password, 4 a step such as new terms of use, 429 an account locked after failed logins); the `product` and
 * `version` headers are required (a too old version: HTTP 403 status 920) and `account-id` (SHA-256 of the user id)
 * on every authenticated call (missing: HTTP 400 `RequiredHeaderMissing`); tickets expire on the fake's clock (HTTP
 * 401 `invalid or expired jwt`) and work only in the region that issued them; every authenticated answer carries a
 * refreshed ticket. Patients have a sensor: the current reading is its newest minute reading, the graph its 5-minute
 * history of the last 12 hours up to 15 minutes ago, both stopping while the phone is away. Faults on demand: any
 * status (429 with or without Retry-After, Cloudflare's HTML page, 5xx), resets.
 *
 * It counts every login request per account, so that tests can prove the adapter never loops on a login, and every
 * step acceptance (`/auth/continue/...`), which the adapter must never make.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { type FakeAnswer, FakeLibreAccounts, type FakeLibreAccountsOptions } from "./fakeLibreAccounts.ts"

export type { FakeLibreAccount, FakeLibrePatient } from "./fakeLibreAccounts.ts"

export const LIBRE_PATHS = {
  login: "/llu/auth/login",
  connections: "/llu/connections",
  config: "/llu/config/country"
} as const

export interface FakeLibreOptions extends FakeLibreAccountsOptions {
  /** The regional servers to start besides the global entry point (default us, eu, eu2). */
  readonly regions?: ReadonlyArray<string>
  /** The oldest app version accepted (default 4.16.0). */
  readonly minimumVersion?: string
}

export type FakeLibreFault =
  | {
      readonly kind: "status"
      readonly status: number
      readonly body?: string
      readonly retryAfter?: string
      readonly contentType?: string
    }
  | { readonly kind: "reset" }

export interface FakeLibreRequest {
  readonly server: string
  readonly method: string
  readonly path: string
  readonly status: number
  /** The body's `status`, when the answer had one. */
  readonly bodyStatus?: number
  readonly email?: string
  readonly version?: string
  readonly product?: string
  readonly accountId?: string
}

interface Listener {
  readonly name: string
  readonly region: string
  readonly server: Server
  readonly url: string
}

const compareVersions = (a: string, b: string) => {
  const pa = a.split(".").map(Number)
  const pb = b.split(".").map(Number)
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0)
  return 0
}

const header = (request: IncomingMessage, name: string) => {
  const value = request.headers[name]
  return typeof value === "string" ? value : undefined
}

export class FakeLibreLinkUp extends FakeLibreAccounts {
  readonly requests: Array<FakeLibreRequest> = []
  private readonly faults: Array<{ fault: FakeLibreFault; path: string | undefined; remaining: number }> = []
  private readonly listeners: Array<Listener> = []
  private readonly regions: ReadonlyArray<string>
  private minimumVersion: string
  /** Step acceptances (`/auth/continue/...`): the adapter must never make one. */
  stepAcceptances = 0

  constructor(options: FakeLibreOptions = {}) {
    super(options)
    this.regions = options.regions ?? ["us", "eu", "eu2"]
    this.minimumVersion = options.minimumVersion ?? "4.16.0"
  }

  /** The global entry point, `http://127.0.0.1:<port>`: the value for `LIBRE_LINK_UP_BASE_URL`. */
  get url(): string {
    return this.urlOf("global")
  }

  /** A region's server. */
  urlOf(name: string): string {
    const listener = this.listeners.find((candidate) => candidate.name === name)
    if (listener === undefined) throw new Error(`the fake has no server ${name}`)
    return listener.url
  }

  async listen(): Promise<this> {
    for (const name of ["global", ...this.regions]) {
      const region = name === "global" ? "us" : name
      const server = createServer((request, response) => {
        this.handle(name, region, request, response).catch((error) => {
          if (!response.headersSent) this.send(name, request, response, { status: 500, body: { message: "fake" } })
          console.error("fake LibreLinkUp failed", error)
        })
      })
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject)
        server.listen(0, "127.0.0.1", () => resolve())
      })
      this.listeners.push({ name, region, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })
    }
    return this
  }

  async close(): Promise<void> {
    await Promise.all(
      this.listeners.map(
        ({ server }) =>
          new Promise<void>((resolve) => {
            server.closeAllConnections()
            server.close(() => resolve())
          })
      )
    )
  }

  /** Abbott raises the oldest app version it accepts. */
  requireVersion(version: string) {
    this.minimumVersion = version
  }

  /** Requests whose path starts with `path`. */
  count(path: string): number {
    return this.requests.filter((request) => request.path.startsWith(path)).length
  }

  /** The next `times` requests whose path starts with `path` (any path when absent) meet `fault`. */
  inject(fault: FakeLibreFault, options: { readonly path?: string; readonly times?: number } = {}) {
    this.faults.push({ fault, path: options.path, remaining: options.times ?? 1 })
  }

  private send(
    server: string,
    request: IncomingMessage,
    response: ServerResponse,
    answer: FakeAnswer,
    headers: Record<string, string> = {}
  ) {
    const { status, body } = answer
    response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
    response.end(typeof body === "string" ? body : JSON.stringify(body))
    const bodyStatus = (body as { status?: unknown } | null)?.status
    this.requests.push({
      server,
      method: request.method ?? "",
      path: new URL(request.url ?? "/", "http://fake").pathname,
      status,
      ...(typeof bodyStatus === "number" ? { bodyStatus } : {}),
      ...(answer.email === undefined ? {} : { email: answer.email }),
      ...Object.fromEntries(
        (["version", "product", "accountId"] as const).flatMap((key) => {
          const value = header(request, key === "accountId" ? "account-id" : key)
          return value === undefined ? [] : [[key, value]]
        })
      )
    })
  }

  private takeFault(path: string): FakeLibreFault | undefined {
    const pending = this.faults.find((f) => f.remaining > 0 && (f.path === undefined || path.startsWith(f.path)))
    if (pending === undefined) return undefined
    pending.remaining -= 1
    return pending.fault
  }

  private async handle(name: string, region: string, request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://fake")
    const text = await readBody(request)
    const answer = (found: FakeAnswer) => this.send(name, request, response, found)
    const fault = this.takeFault(url.pathname)
    if (fault !== undefined) {
      if (fault.kind === "reset") {
        this.requests.push({ server: name, method: request.method ?? "", path: url.pathname, status: 0 })
        request.socket.destroy()
        return
      }
      const headers = {
        ...(fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }),
        ...(fault.contentType === undefined ? {} : { "content-type": fault.contentType })
      }
      return this.send(name, request, response, { status: fault.status, body: fault.body ?? "" }, headers)
    }
    const version = header(request, "version")
    if (header(request, "product") === undefined || version === undefined) {
      return answer({ status: 400, body: { message: "RequiredHeaderMissing" } })
    }
    if (!/^\d+\.\d+\.\d+$/.test(version) || compareVersions(version, this.minimumVersion) < 0) {
      return answer({ status: 403, body: { status: 920, data: { minimumVersion: this.minimumVersion } } })
    }
    if (request.method === "GET" && url.pathname === LIBRE_PATHS.config) return answer(this.config())
    if (request.method === "POST" && url.pathname === LIBRE_PATHS.login) {
      let body: { email?: unknown; password?: unknown }
      try {
        body = JSON.parse(text)
      } catch {
        return answer({ status: 400, body: { message: "BadRequest" } })
      }
      return answer(this.login(region, body))
    }
    if (request.method === "POST" && url.pathname.startsWith("/auth/continue/")) {
      this.stepAcceptances += 1
      return answer({ status: 200, body: { status: 0, data: {} } })
    }
    if (request.method === "GET" && url.pathname.startsWith(LIBRE_PATHS.connections)) {
      const path = url.pathname.slice(LIBRE_PATHS.connections.length).split("/").filter(Boolean)
      const headers = { authorization: header(request, "authorization"), accountId: header(request, "account-id") }
      return answer(this.connections(region, path, headers))
    }
    return answer({ status: 404, body: { message: "NotFound" } })
  }

  /** `GET /llu/config/country`: every regional server, as `regionalMap[region].lslApi`. */
  private config(): FakeAnswer {
    const regionalMap = Object.fromEntries(
      this.listeners
        .filter((listener) => listener.name !== "global")
        .map((listener) => [
          listener.name,
          { lslApi: listener.url, socketHub: listener.url.replace("http", "ws"), deviceSettings: {} }
        ])
    )
    return { status: 200, body: { status: 0, data: { countryList: {}, regionalMap } } }
  }
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

export const startFakeLibreLinkUp = (options: FakeLibreOptions = {}): Promise<FakeLibreLinkUp> =>
  new FakeLibreLinkUp(options).listen()

/** A fake LibreLinkUp for the life of the scope. */
export const fakeLibreLinkUp = (options: FakeLibreOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeLibreLinkUp(options)),
    (fake) => Effect.promise(() => fake.close())
  )
