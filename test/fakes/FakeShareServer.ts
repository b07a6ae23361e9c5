/**
 * A fake of Dexcom Share on loopback (node:http) that behaves as Share does (docs/dexcom-share.md): the two-step login
 * (AuthenticatePublisherAccount → account id, LoginPublisherAccountById → session id; an all-zero id for an
 * account set to fail that way), the application id of its region, sessions that expire (`SessionNotValid`) or
 * were never issued (`SessionIdNotFound`), `ReadPublisherLatestGlucoseValues` within `minutes ≤ 1440` and
 * `maxCount ≤ 288` (newest first), both date and trend formats, errors as HTTP 500 `{ Code, Message }`, and an
 * account that locks after a number of failed logins in a row. Faults on demand: any status (429 with
 * Retry-After, 503), a named error (`SSO_InternalError`), connection resets.
 *
 * It counts every login attempt per account, so that tests can prove the adapter never loops on a login.
 */
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo, Socket } from "node:net"
import { Effect } from "effect"
import { type ShareFormat, type ShareRecord, shareValueJson } from "./shareRecords.ts"

export const SHARE_US_APPLICATION_ID = "d89443d2-327c-4a6f-89e5-496bbb0317db"
export const SHARE_NO_ID = "00000000-0000-0000-0000-000000000000"
const SERVICES = "/ShareWebServices/Services"
export const SHARE_PATHS = {
  authenticate: `${SERVICES}/General/AuthenticatePublisherAccount`,
  login: `${SERVICES}/General/LoginPublisherAccountById`,
  glucose: `${SERVICES}/Publisher/ReadPublisherLatestGlucoseValues`
} as const

export interface FakeShareOptions {
  /** The application id logins must carry (default: the US/outside-US one). */
  readonly applicationId?: string
  /** Failed logins in a row after which an account is locked (default 3). */
  readonly lockAfter?: number
  /** The fake's clock, epoch milliseconds: which values are "the last `minutes`", when sessions expire. */
  readonly now?: () => number
}

export interface FakeShareAccount {
  readonly password: string
  readonly records?: ReadonlyArray<ShareRecord>
  readonly format?: ShareFormat
  /** Answer an all-zero id to the first login step (`account`) or the second (`session`), as Share does. */
  readonly zeroId?: "account" | "session"
}

export type FakeShareFault =
  | { readonly kind: "status"; readonly status: number; readonly retryAfter?: string; readonly body?: string }
  | { readonly kind: "error"; readonly code: string; readonly message?: string; readonly status?: number }
  | { readonly kind: "reset" }

export interface FakeShareRequest {
  readonly path: string
  readonly status: number
  /** The account the request acted as, when known. */
  readonly username?: string
  readonly code?: string
  readonly applicationId?: string
  readonly minutes?: string
  readonly maxCount?: string
}

interface Account {
  readonly username: string
  password: string
  readonly accountId: string
  records: Array<ShareRecord>
  format: ShareFormat
  zeroId: "account" | "session" | undefined
  failedInARow: number
  locked: boolean
  loginAttempts: number
}

interface PendingFault {
  readonly fault: FakeShareFault
  readonly path: string | undefined
  remaining: number
}

export class FakeShare {
  readonly requests: Array<FakeShareRequest> = []
  private readonly accounts = new Map<string, Account>()
  private readonly sessions = new Map<string, { readonly username: string; valid: boolean }>()
  private readonly faults: Array<PendingFault> = []
  private readonly applicationId: string
  private readonly lockAfter: number
  private readonly now: () => number
  private server: Server | undefined
  private baseUrl = ""

  constructor(options: FakeShareOptions = {}) {
    this.applicationId = options.applicationId ?? SHARE_US_APPLICATION_ID
    this.lockAfter = options.lockAfter ?? 3
    this.now = options.now ?? Date.now
  }

  /** `http://127.0.0.1:<port>`, the value for `DEXCOM_SHARE_BASE_URL`. */
  get url(): string {
    return this.baseUrl
  }

  listen(): Promise<this> {
    return new Promise((resolve, reject) => {
      const inFlight = new WeakMap<Socket, ServerResponse>()
      const server = createServer((request, response) => {
        inFlight.set(request.socket, response)
        response.once("finish", () => inFlight.delete(request.socket))
        this.handle(request, response).catch((error) => {
          if (!response.headersSent) this.error(response, request, "SSO_InternalError", "fake failure")
          console.error("fake Share failed", error)
        })
      })
      // share2nightscout-bridge sends `""` after a request whose Content-Length is 0: bytes that cannot start a
      // request. Share (IIS) answers the request first, then refuses the stray bytes; Node would answer 400 at once,
      // ahead of the answer still being written, so the fake answers in order as Share does.
      server.on("clientError", (_error, socket: Socket) => {
        const refuse = () => socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        const pending = inFlight.get(socket)
        if (pending === undefined) refuse()
        else pending.once("finish", refuse)
      })
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        this.server = server
        this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
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

  addAccount(username: string, account: FakeShareAccount) {
    this.accounts.set(username.toLowerCase(), {
      username,
      password: account.password,
      accountId: randomUUID(),
      records: [...(account.records ?? [])],
      format: account.format ?? "modern",
      zeroId: account.zeroId,
      failedInARow: 0,
      locked: false,
      loginAttempts: 0
    })
    return this
  }

  addRecords(username: string, records: ReadonlyArray<ShareRecord>) {
    this.account(username).records.push(...records)
  }

  /** The user changed their password at Dexcom. */
  setPassword(username: string, password: string) {
    this.account(username).password = password
  }

  /** Dexcom support (or time) unlocked the account. */
  unlock(username: string) {
    const account = this.account(username)
    account.locked = false
    account.failedInARow = 0
  }

  isLocked(username: string): boolean {
    return this.account(username).locked
  }

  /** Every session issued so far (of one account, or all) times out: reads answer `SessionNotValid`. */
  expireSessions(username?: string) {
    for (const session of this.sessions.values()) {
      if (username === undefined || session.username === username) session.valid = false
    }
  }

  /** Every session issued so far is forgotten: reads answer `SessionIdNotFound`. */
  forgetSessions() {
    this.sessions.clear()
  }

  /** Login requests (either step, answered or refused) that named this account. */
  loginAttempts(username: string): number {
    return this.account(username).loginAttempts
  }

  /** Every session id issued: none of them may ever appear in a log. */
  issuedSessions(): ReadonlyArray<string> {
    return [...this.sessions.keys()]
  }

  /** How many requests reached one of the services. */
  count(operation: keyof typeof SHARE_PATHS): number {
    return this.requests.filter((request) => request.path === SHARE_PATHS[operation]).length
  }

  /** The next `times` requests whose path starts with `path` (any path when absent) meet `fault`. */
  inject(fault: FakeShareFault, options: { readonly path?: string; readonly times?: number } = {}) {
    this.faults.push({ fault, path: options.path, remaining: options.times ?? 1 })
  }

  private account(username: string): Account {
    const account = this.accounts.get(username.toLowerCase())
    if (account === undefined) throw new Error(`fake Share has no account ${username}`)
    return account
  }

  private record(request: IncomingMessage, status: number, extra: Omit<FakeShareRequest, "path" | "status"> = {}) {
    this.requests.push({ path: new URL(request.url ?? "/", "http://fake").pathname, status, ...extra })
  }

  private json(
    response: ServerResponse,
    request: IncomingMessage,
    status: number,
    text: string,
    extra: Omit<FakeShareRequest, "path" | "status"> = {},
    headers: Record<string, string> = {}
  ) {
    response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
    response.end(text)
    this.record(request, status, extra)
  }

  private error(
    response: ServerResponse,
    request: IncomingMessage,
    code: string,
    message: string,
    extra: Omit<FakeShareRequest, "path" | "status" | "code"> = {},
    status = 500
  ) {
    this.json(
      response,
      request,
      status,
      JSON.stringify({ Code: code, Message: message, SubCode: null, TypeName: "FaultException" }),
      { ...extra, code }
    )
  }

  private takeFault(path: string): FakeShareFault | undefined {
    const pending = this.faults.find((f) => f.remaining > 0 && (f.path === undefined || path.startsWith(f.path)))
    if (pending === undefined) return undefined
    pending.remaining -= 1
    return pending.fault
  }

  private async handle(request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", this.baseUrl)
    const text = await readBody(request)
    const fault = this.takeFault(url.pathname)
    if (fault !== undefined) {
      switch (fault.kind) {
        case "reset":
          this.record(request, 0)
          request.socket.destroy()
          return
        case "status":
          return this.json(
            response,
            request,
            fault.status,
            fault.body ?? "",
            {},
            fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }
          )
        case "error":
          return this.error(response, request, fault.code, fault.message ?? "", {}, fault.status ?? 500)
      }
    }
    if (request.method !== "POST") return this.json(response, request, 405, "")
    let body: any = {}
    try {
      body = text === "" ? {} : JSON.parse(text)
    } catch {
      return this.error(response, request, "InvalidArgument", "The request body is not JSON")
    }
    switch (url.pathname) {
      case SHARE_PATHS.authenticate:
        return this.authenticate(request, response, body)
      case SHARE_PATHS.login:
        return this.loginById(request, response, body)
      case SHARE_PATHS.glucose:
        return this.glucose(request, response, url.searchParams)
      default:
        return this.json(response, request, 404, "")
    }
  }

  /** Checks a password for a login step, counting the attempt and locking the account after too many failures. */
  private checkPassword(
    request: IncomingMessage,
    response: ServerResponse,
    account: Account,
    password: unknown,
    applicationId: unknown
  ): boolean {
    account.loginAttempts += 1
    const extra = { username: account.username, applicationId: String(applicationId) }
    if (account.locked) {
      this.error(
        response,
        request,
        "SSO_AuthenticateMaxAttemptsExceeed",
        "Publisher account has exceeded the maximum number of authentication attempts",
        extra
      )
      return false
    }
    if (applicationId !== this.applicationId) {
      this.error(response, request, "InvalidArgument", "The application id is not valid here", extra)
      return false
    }
    if (password !== account.password) {
      account.failedInARow += 1
      if (account.failedInARow >= this.lockAfter) account.locked = true
      this.error(response, request, "AccountPasswordInvalid", "Publisher account password failed", extra)
      return false
    }
    account.failedInARow = 0
    return true
  }

  private authenticate(request: IncomingMessage, response: ServerResponse, body: any) {
    const account = this.accounts.get(String(body.accountName ?? "").toLowerCase())
    if (account === undefined) {
      return this.error(response, request, "AccountPasswordInvalid", "Publisher account password failed")
    }
    if (!this.checkPassword(request, response, account, body.password, body.applicationId)) return
    const id = account.zeroId === "account" ? SHARE_NO_ID : account.accountId
    return this.json(response, request, 200, JSON.stringify(id), {
      username: account.username,
      applicationId: body.applicationId
    })
  }

  private loginById(request: IncomingMessage, response: ServerResponse, body: any) {
    const account = [...this.accounts.values()].find((candidate) => candidate.accountId === body.accountId)
    if (account === undefined) return this.json(response, request, 200, JSON.stringify(SHARE_NO_ID))
    if (!this.checkPassword(request, response, account, body.password, body.applicationId)) return
    if (account.zeroId === "session") {
      return this.json(response, request, 200, JSON.stringify(SHARE_NO_ID), { username: account.username })
    }
    const sessionId = randomUUID()
    this.sessions.set(sessionId, { username: account.username, valid: true })
    return this.json(response, request, 200, JSON.stringify(sessionId), {
      username: account.username,
      applicationId: body.applicationId
    })
  }

  private glucose(request: IncomingMessage, response: ServerResponse, params: URLSearchParams) {
    const minutesText = params.get("minutes") ?? ""
    const maxCountText = params.get("maxCount") ?? ""
    const query = { minutes: minutesText, maxCount: maxCountText }
    // Share's query parameter names are case-insensitive: share2nightscout-bridge sends `sessionID`.
    const sessionId = [...params.entries()].find(([name]) => name.toLowerCase() === "sessionid")?.[1]
    const session = this.sessions.get(sessionId ?? "")
    if (session === undefined) return this.error(response, request, "SessionIdNotFound", "Session ID not found", query)
    const extra = { ...query, username: session.username }
    if (!session.valid)
      return this.error(response, request, "SessionNotValid", "Session not active or timed out", extra)
    const minutes = Number(minutesText)
    const maxCount = Number(maxCountText)
    if (!Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      return this.error(response, request, "InvalidArgument", "minutes must be from 1 to 1440", extra)
    }
    if (!Number.isInteger(maxCount) || maxCount < 1 || maxCount > 288) {
      return this.error(response, request, "InvalidArgument", "maxCount must be from 1 to 288", extra)
    }
    const account = this.account(session.username)
    const now = this.now()
    const values = account.records
      .filter((record) => record.epochMillis > now - minutes * 60_000 && record.epochMillis <= now)
      .sort((a, b) => b.epochMillis - a.epochMillis)
      .slice(0, maxCount)
      .map((record) => shareValueJson(record, account.format))
    let text = JSON.stringify(values)
    // Old servers escape the slashes of their dates: "\/Date(1713543055000)\/".
    if (account.format === "legacy") text = text.replaceAll('"/Date(', '"\\/Date(').replaceAll(')/"', ')\\/"')
    return this.json(response, request, 200, text, extra)
  }
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })

export const startFakeShare = (options: FakeShareOptions = {}): Promise<FakeShare> => new FakeShare(options).listen()

/** A fake Share server for the life of the scope. */
export const fakeShare = (options: FakeShareOptions = {}) =>
  Effect.acquireRelease(
    Effect.promise(() => startFakeShare(options)),
    (fake) => Effect.promise(() => fake.close())
  )
