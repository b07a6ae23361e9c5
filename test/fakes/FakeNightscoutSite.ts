/**
 * A fake Nightscout site (cgm-remote-monitor 15's REST API v1, as docs/nightscout.md describes it) on loopback, for
 * the `nightscout` provider: entries kept as posted, whatever they hold; `GET api/v1/entries(.json)` and
 * `entries/<type>.json` newest first by `date`, `count` (default 10), `find[date]` compared as numbers read with
 * parseInt, `find[dateString]` compared as text, the 4-day bound without a date condition; `verifyauth`; the
 * `api-secret` header (SHA-1 hex of the secret, any case) and `?token=` read tokens; wrong credentials 401 even on a
 * readable site. The site may live under a path (`/nightscout`). Faults on demand: any status (429 with Retry-After,
 * 503, a redirect), a reset. Every request is counted, with the credential form it carried, never its value.
 */
import { createHash } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export interface FakeNightscoutOptions {
  readonly apiSecret?: string
  /** Read tokens the site issued. */
  readonly readTokens?: ReadonlyArray<string>
  /** Roles without a credential: `readable` (Nightscout's default) or `denied` (a private site). */
  readonly defaultRole?: "readable" | "denied"
  /** Where the site lives on its host, e.g. `/nightscout`; none by default. */
  readonly basePath?: string
  /** The site's clock, epoch milliseconds (the 4-day bound). */
  readonly now?: () => number
}

export type FakeNightscoutFault =
  | {
      readonly kind: "status"
      readonly status: number
      readonly headers?: Record<string, string>
      readonly body?: string
    }
  | { readonly kind: "reset" }

export interface FakeNightscoutRequest {
  readonly path: string
  readonly status: number
  readonly query: Readonly<Record<string, string>>
  /** How a credential came, if one did: `header`, `token` or none. */
  readonly credential: "header" | "token" | "none"
}

const FOUR_DAYS = 4 * 86_400_000
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex")

export class FakeNightscout {
  readonly requests: Array<FakeNightscoutRequest> = []
  entries: Array<Record<string, unknown>> = []
  private readonly faults: Array<{ fault: FakeNightscoutFault; path?: string; remaining: number }> = []
  private server: Server | undefined
  private origin = ""
  private readonly options: { -readonly [K in keyof FakeNightscoutOptions]-?: NonNullable<FakeNightscoutOptions[K]> }

  constructor(options: FakeNightscoutOptions = {}) {
    this.options = {
      apiSecret: options.apiSecret ?? "fake-site-api-secret",
      readTokens: options.readTokens ?? [],
      defaultRole: options.defaultRole ?? "readable",
      basePath: options.basePath ?? "",
      now: options.now ?? Date.now
    }
  }

  /** The site's URL, as a user would give it: `http://127.0.0.1:<port><basePath>`. */
  get url(): string {
    return `${this.origin}${this.options.basePath}`
  }

  get port(): number {
    return Number(new URL(this.origin).port)
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      const server = createServer((request, response) => this.handle(request, response))
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        this.server = server
        this.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
        resolve(this)
      })
    })
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.server === undefined) return resolve()
      this.server.closeAllConnections()
      this.server.close(() => resolve())
    })
  }

  /** The site's owner revoked a read token. */
  revokeToken(token: string) {
    this.options.readTokens = this.options.readTokens.filter((issued) => issued !== token)
  }

  addEntries(entries: ReadonlyArray<Record<string, unknown>>) {
    this.entries.push(...entries.map((entry) => ({ ...entry })))
  }

  /** The next `times` requests (whose path after the site's base starts with `path`) meet `fault`. */
  inject(fault: FakeNightscoutFault, options: { readonly path?: string; readonly times?: number } = {}) {
    this.faults.push({
      fault,
      ...(options.path === undefined ? {} : { path: options.path }),
      remaining: options.times ?? 1
    })
  }

  /** Entry reads (not `verifyauth`) that reached the site. */
  get entryReads(): number {
    return this.requests.filter((request) => request.path.startsWith("/api/v1/entries")).length
  }

  private answer(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
    response.end(typeof body === "string" ? body : JSON.stringify(body))
  }

  /** What the request may do: read, or nothing (a wrong credential is refused even on a readable site). */
  private role(request: IncomingMessage, query: URLSearchParams): "read" | "refused" | "none" {
    const header = request.headers["api-secret"]
    const token = query.get("token")
    if (typeof header === "string") {
      const value = header.toLowerCase()
      if (value === sha1(this.options.apiSecret)) return "read"
      if (this.options.readTokens.some((t) => t === header || sha1(t) === value)) return "read"
      return "refused"
    }
    if (token !== null) return this.options.readTokens.includes(token) ? "read" : "refused"
    return this.options.defaultRole === "readable" ? "read" : "none"
  }

  private handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", this.origin)
    const base = this.options.basePath
    const path = url.pathname.startsWith(base) ? url.pathname.slice(base.length) : `!${url.pathname}`
    const record = (status: number) =>
      this.requests.push({
        path,
        status,
        query: Object.fromEntries([...url.searchParams].filter(([name]) => name !== "token")),
        credential:
          request.headers["api-secret"] !== undefined ? "header" : url.searchParams.has("token") ? "token" : "none"
      })
    const pending = this.faults.find((f) => f.remaining > 0 && (f.path === undefined || path.startsWith(f.path)))
    if (pending !== undefined) {
      pending.remaining -= 1
      if (pending.fault.kind === "reset") {
        record(0)
        request.socket.destroy()
        return
      }
      record(pending.fault.status)
      return this.answer(response, pending.fault.status, pending.fault.body ?? "", pending.fault.headers)
    }
    if (request.method !== "GET") {
      record(405)
      return this.answer(response, 405, { status: 405 })
    }
    const role = this.role(request, url.searchParams)
    if (path === "/api/v1/verifyauth") {
      record(200)
      // A wrong credential falls back to the default roles here (the data routes refuse it with a 401).
      const canRead = role === "read" || this.options.defaultRole === "readable"
      const presented =
        role === "read" && (request.headers["api-secret"] !== undefined || url.searchParams.has("token"))
      return this.answer(response, 200, {
        status: 200,
        message: {
          canRead,
          canWrite: false,
          isAdmin: false,
          message: canRead && presented ? "OK" : "UNAUTHORIZED",
          rolefound: canRead && presented ? "FOUND" : "NOTFOUND",
          permissions: canRead && presented ? "ROLE" : "DEFAULT"
        }
      })
    }
    const match = /^\/api\/v1\/entries(?:\.json|\/(\w+)\.json)?$/.exec(path)
    if (match === null) {
      record(404)
      return this.answer(response, 404, "Cannot GET", { "content-type": "text/html" })
    }
    if (role !== "read") {
      record(401)
      return this.answer(response, 401, { status: 401, message: "Unauthorized", description: "Invalid/Missing" })
    }
    record(200)
    return this.answer(response, 200, this.query(url.searchParams, match[1]))
  }

  /** Nightscout's query: conditions as it reads them, the 4-day bound, newest first, `count`. */
  private query(params: URLSearchParams, type: string | undefined): ReadonlyArray<Record<string, unknown>> {
    const conditions: Array<(entry: Record<string, unknown>) => boolean> = []
    let dated = false
    for (const [name, value] of params) {
      const found = /^find\[(\w+)\](?:\[\$(gt|gte|lt|lte|eq|ne)\])?$/.exec(name)
      if (found === null) continue
      const [, field, operator = "eq"] = found as unknown as [string, string, string | undefined]
      if (field === "date" || field === "dateString") dated = true
      // Nightscout reads date, sgv, mbg… with parseInt and compares every other field as text.
      const numeric = ["date", "sgv", "mbg", "filtered", "unfiltered", "rssi", "noise"].includes(field)
      const bound = numeric ? Number.parseInt(value, 10) : value
      conditions.push((entry) => {
        const actual = entry[field] as number | string | undefined
        if (actual === undefined) return operator === "ne"
        switch (operator) {
          case "gt":
            return actual > bound
          case "gte":
            return actual >= bound
          case "lt":
            return actual < bound
          case "lte":
            return actual <= bound
          case "ne":
            return actual !== bound
          default:
            return actual === bound
        }
      })
    }
    if (!dated) {
      const from = this.options.now() - FOUR_DAYS
      conditions.push((entry) => typeof entry.date === "number" && entry.date >= from)
    }
    if (type !== undefined) conditions.push((entry) => entry.type === type)
    const count = Number.parseInt(params.get("count") ?? "10", 10)
    const selected = this.entries
      .filter((entry) => conditions.every((condition) => condition(entry)))
      .sort((a, b) => (Number(b.date) || 0) - (Number(a.date) || 0))
    return count > 0 ? selected.slice(0, count) : selected
  }
}

export const startFakeNightscout = (options: FakeNightscoutOptions = {}) => new FakeNightscout(options).listen()

/** A fake Nightscout site for the life of the scope. */
export const fakeNightscout = (options: FakeNightscoutOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeNightscout(options)),
    (fake) => Effect.promise(() => fake.close())
  )
