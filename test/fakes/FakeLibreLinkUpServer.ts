/**
 * A fake of LibreLinkUp on loopback (node:http) that behaves as guides/libre.md describes: a global entry point
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
import { createHash, randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"
import { type LibreSensor, type LibreUnit, libreItemJson } from "./libreRecords.ts"

export const LIBRE_PATHS = {
  login: "/llu/auth/login",
  connections: "/llu/connections",
  config: "/llu/config/country"
} as const

const HOUR = 3_600_000

export interface FakeLibreOptions {
  /** The fake's clock, epoch milliseconds: ticket expiry, lockouts, which readings exist yet. */
  readonly now?: () => number
  /** The regional servers to start besides the global entry point (default us, eu, eu2). */
  readonly regions?: ReadonlyArray<string>
  /** The oldest app version accepted (default 4.16.0). */
  readonly minimumVersion?: string
  /** Failed logins in a row after which the account is locked (default 3), and for how long (default 300 s). */
  readonly lockAfter?: number
  readonly lockoutSeconds?: number
  /** The HTTP status of the lockout answer (LibreLinkUp answers 200 with status 429 in the body; default 200). */
  readonly lockHttpStatus?: number
  /** A ticket's life (default 180 days). */
  readonly ticketMillis?: number
}

export interface FakeLibrePatient {
  readonly patientId?: string
  readonly firstName: string
  readonly lastName: string
  /** The patient's phone zone (IANA): `Timestamp` is written in it. */
  readonly zone: string
  readonly unit?: LibreUnit
  readonly sensor: LibreSensor
}

export interface FakeLibreAccount {
  readonly password: string
  /** The account's home region (default us, which the global entry point serves too). */
  readonly region?: string
  readonly patients?: ReadonlyArray<FakeLibrePatient>
  /** A step the account holder must complete in the app before a login succeeds. */
  readonly step?: "tou" | "pp" | "verifyEmail"
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

interface Patient {
  readonly patientId: string
  readonly firstName: string
  readonly lastName: string
  readonly zone: string
  readonly unit: LibreUnit
  readonly sensor: LibreSensor
  awaySince: number | null
}

interface Account {
  readonly email: string
  password: string
  readonly userId: string
  readonly region: string
  readonly patients: Array<Patient>
  step: "tou" | "pp" | "verifyEmail" | null
  failedInARow: number
  lockedUntil: number
  loginAttempts: number
}

interface Ticket {
  readonly email: string
  readonly region: string
  readonly expires: number
  readonly kind: "session" | "step"
  revoked: boolean
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

const base64Url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

export class FakeLibreLinkUp {
  readonly requests: Array<FakeLibreRequest> = []
  private readonly accounts = new Map<string, Account>()
  private readonly tickets = new Map<string, Ticket>()
  private readonly faults: Array<{ fault: FakeLibreFault; path: string | undefined; remaining: number }> = []
  private readonly listeners: Array<Listener> = []
  private readonly options: Required<Omit<FakeLibreOptions, "now">>
  private readonly now: () => number
  private minimumVersion: string
  stepAcceptances = 0

  constructor(options: FakeLibreOptions = {}) {
    this.now = options.now ?? Date.now
    this.options = {
      regions: options.regions ?? ["us", "eu", "eu2"],
      minimumVersion: options.minimumVersion ?? "4.16.0",
      lockAfter: options.lockAfter ?? 3,
      lockoutSeconds: options.lockoutSeconds ?? 300,
      lockHttpStatus: options.lockHttpStatus ?? 200,
      ticketMillis: options.ticketMillis ?? 180 * 24 * HOUR
    }
    this.minimumVersion = this.options.minimumVersion
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
    for (const name of ["global", ...this.options.regions]) {
      const region = name === "global" ? "us" : name
      const server = createServer((request, response) => {
        this.handle(name, region, request, response).catch((error) => {
          if (!response.headersSent) this.send(name, request, response, 500, { message: "fake failure" })
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

  addAccount(email: string, account: FakeLibreAccount) {
    this.accounts.set(email.toLowerCase(), {
      email,
      password: account.password,
      userId: randomUUID(),
      region: account.region ?? "us",
      patients: (account.patients ?? []).map((patient) => ({
        patientId: patient.patientId ?? randomUUID(),
        firstName: patient.firstName,
        lastName: patient.lastName,
        zone: patient.zone,
        unit: patient.unit ?? "mg/dL",
        sensor: patient.sensor,
        awaySince: null
      })),
      step: account.step ?? null,
      failedInARow: 0,
      lockedUntil: 0,
      loginAttempts: 0
    })
    return this
  }

  /** The follower's user id (its SHA-256 is the `account-id` header). */
  userIdOf(email: string): string {
    return this.account(email).userId
  }

  patientIds(email: string): ReadonlyArray<string> {
    return this.account(email).patients.map((patient) => patient.patientId)
  }

  setPassword(email: string, password: string) {
    this.account(email).password = password
  }

  /** LibreLinkUp asks the account holder for a step (new terms, ...), or (null) they completed it in the app. */
  setStep(email: string, step: "tou" | "pp" | "verifyEmail" | null) {
    this.account(email).step = step
  }

  isLocked(email: string): boolean {
    return this.account(email).lockedUntil > this.now()
  }

  /** Someone else's failed logins (the patient's family, another app) locked the account just now. */
  lockNow(email: string) {
    const account = this.account(email)
    account.failedInARow = this.options.lockAfter
    account.lockedUntil = this.now() + this.options.lockoutSeconds * 1000
  }

  unlock(email: string) {
    const account = this.account(email)
    account.lockedUntil = 0
    account.failedInARow = 0
  }

  /** Abbott raises the oldest app version it accepts. */
  requireVersion(version: string) {
    this.minimumVersion = version
  }

  /** The patient's phone leaves (`since`: its readings stop there) or comes back (null). */
  setPhoneAway(email: string, patientId: string, since: number | null) {
    const patient = this.account(email).patients.find((candidate) => candidate.patientId === patientId)
    if (patient === undefined) throw new Error(`no patient ${patientId}`)
    patient.awaySince = since
  }

  /** The patient stops sharing with this follower. */
  removePatient(email: string, patientId: string) {
    const patients = this.account(email).patients
    patients.splice(
      patients.findIndex((patient) => patient.patientId === patientId),
      1
    )
  }

  /** Every ticket of the account stops working (HTTP 401), as after a password change elsewhere. */
  revokeTickets(email: string) {
    for (const ticket of this.tickets.values()) if (ticket.email === this.account(email).email) ticket.revoked = true
  }

  /** Login requests that named this account, at any server, whatever the answer. */
  loginAttempts(email: string): number {
    return this.account(email).loginAttempts
  }

  /** Every token issued: none of them may ever appear in a log. */
  issuedTokens(): ReadonlyArray<string> {
    return [...this.tickets.keys()]
  }

  /** Requests whose path starts with `path`. */
  count(path: string): number {
    return this.requests.filter((request) => request.path.startsWith(path)).length
  }

  /** The next `times` requests whose path starts with `path` (any path when absent) meet `fault`. */
  inject(fault: FakeLibreFault, options: { readonly path?: string; readonly times?: number } = {}) {
    this.faults.push({ fault, path: options.path, remaining: options.times ?? 1 })
  }

  private account(email: string): Account {
    const account = this.accounts.get(email.toLowerCase())
    if (account === undefined) throw new Error(`the fake has no account ${email}`)
    return account
  }

  private send(
    server: string,
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    body: unknown,
    extra: Partial<FakeLibreRequest> = {},
    headers: Record<string, string> = {}
  ) {
    const text = typeof body === "string" ? body : JSON.stringify(body)
    response.writeHead(status, { "content-type": "application/json; charset=utf-8", ...headers })
    response.end(text)
    const bodyStatus =
      typeof body === "object" && body !== null && typeof (body as { status?: unknown }).status === "number"
        ? (body as { status: number }).status
        : undefined
    this.requests.push({
      server,
      method: request.method ?? "",
      path: new URL(request.url ?? "/", "http://fake").pathname,
      status,
      ...(bodyStatus === undefined ? {} : { bodyStatus }),
      ...this.headersOf(request),
      ...extra
    })
  }

  private headersOf(request: IncomingMessage) {
    const header = (name: string) => {
      const value = request.headers[name]
      return typeof value === "string" ? { [name === "account-id" ? "accountId" : name]: value } : {}
    }
    return { ...header("version"), ...header("product"), ...header("account-id") }
  }

  private takeFault(path: string): FakeLibreFault | undefined {
    const pending = this.faults.find((f) => f.remaining > 0 && (f.path === undefined || path.startsWith(f.path)))
    if (pending === undefined) return undefined
    pending.remaining -= 1
    return pending.fault
  }

  private issue(account: Account, region: string, kind: Ticket["kind"]) {
    const now = this.now()
    const millis = kind === "step" ? HOUR : this.options.ticketMillis
    const expires = Math.floor((now + millis) / 1000)
    const token = [
      base64Url({ alg: "HS256", typ: "JWT" }),
      base64Url({ id: account.userId, region, exp: expires, jti: randomUUID() }),
      randomUUID().replaceAll("-", "")
    ].join(".")
    this.tickets.set(token, { email: account.email, region, expires, kind, revoked: false })
    return { token, expires, duration: millis }
  }

  private async handle(name: string, region: string, request: IncomingMessage, response: ServerResponse) {
    const url = new URL(request.url ?? "/", "http://fake")
    const text = await readBody(request)
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
      return this.send(name, request, response, fault.status, fault.body ?? "", {}, headers)
    }
    const product = request.headers.product
    const version = request.headers.version
    if (typeof product !== "string" || typeof version !== "string") {
      return this.send(name, request, response, 400, { message: "RequiredHeaderMissing" })
    }
    if (!/^\d+\.\d+\.\d+$/.test(version) || compareVersions(version, this.minimumVersion) < 0) {
      return this.send(name, request, response, 403, { status: 920, data: { minimumVersion: this.minimumVersion } })
    }
    if (request.method === "GET" && url.pathname === LIBRE_PATHS.config) return this.config(name, request, response)
    if (request.method === "POST" && url.pathname === LIBRE_PATHS.login) {
      return this.login(name, region, request, response, text)
    }
    if (request.method === "POST" && url.pathname.startsWith("/auth/continue/")) {
      this.stepAcceptances += 1
      return this.send(name, request, response, 200, { status: 0, data: {} })
    }
    if (request.method === "GET" && url.pathname.startsWith(LIBRE_PATHS.connections)) {
      const account = this.authenticate(name, region, request, response)
      if (account === undefined) return
      const rest = url.pathname.slice(LIBRE_PATHS.connections.length).split("/").filter(Boolean)
      const ticket = this.issue(account, region, "session")
      if (rest.length === 0) {
        return this.send(name, request, response, 200, {
          status: 0,
          data: account.patients.map((patient) => this.connectionJson(patient)),
          ticket
        })
      }
      const patient = account.patients.find((candidate) => candidate.patientId === decodeURIComponent(rest[0]!))
      if (patient === undefined || (rest[1] !== "graph" && rest[1] !== "logbook") || rest.length !== 2) {
        return this.send(name, request, response, 200, { status: 4, error: { message: "couldNotLoadPatient" } })
      }
      if (rest[1] === "logbook") return this.send(name, request, response, 200, { status: 0, data: [], ticket })
      return this.send(name, request, response, 200, {
        status: 0,
        data: {
          connection: this.connectionJson(patient),
          activeSensors: [],
          graphData: this.historyOf(patient).map((point) =>
            libreItemJson(point, { zone: patient.zone, unit: patient.unit, type: 0 })
          )
        },
        ticket
      })
    }
    return this.send(name, request, response, 404, { message: "NotFound" })
  }

  private config(name: string, request: IncomingMessage, response: ServerResponse) {
    const regionalMap = Object.fromEntries(
      this.listeners
        .filter((listener) => listener.name !== "global")
        .map((listener) => [
          listener.name,
          { lslApi: listener.url, socketHub: listener.url.replace("http", "ws"), deviceSettings: {} }
        ])
    )
    return this.send(name, request, response, 200, { status: 0, data: { countryList: {}, regionalMap } })
  }

  private login(name: string, region: string, request: IncomingMessage, response: ServerResponse, text: string) {
    let body: { email?: unknown; password?: unknown } = {}
    try {
      body = JSON.parse(text)
    } catch {
      return this.send(name, request, response, 400, { message: "BadRequest" })
    }
    const account = this.accounts.get(String(body.email ?? "").toLowerCase())
    const refused = { status: 2, error: { message: "notAuthenticated" } }
    if (account === undefined) return this.send(name, request, response, 200, refused)
    account.loginAttempts += 1
    const extra = { email: account.email }
    const now = this.now()
    if (account.lockedUntil > now) {
      const lock = {
        status: 429,
        data: {
          code: 60,
          data: { failures: account.failedInARow, interval: 60, lockout: this.options.lockoutSeconds },
          message: "locked"
        }
      }
      return this.send(name, request, response, this.options.lockHttpStatus, lock, extra)
    }
    if (account.region !== region) {
      return this.send(
        name,
        request,
        response,
        200,
        { status: 0, data: { redirect: true, region: account.region } },
        extra
      )
    }
    if (body.password !== account.password) {
      account.failedInARow += 1
      if (account.failedInARow >= this.options.lockAfter) account.lockedUntil = now + this.options.lockoutSeconds * 1000
      return this.send(name, request, response, 200, refused, extra)
    }
    account.failedInARow = 0
    if (account.step !== null) {
      const authTicket = this.issue(account, region, "step")
      return this.send(
        name,
        request,
        response,
        200,
        {
          status: 4,
          data: {
            step: { type: account.step, componentName: "AcceptDocument", props: {} },
            user: { accountType: "pat" },
            authTicket
          }
        },
        extra
      )
    }
    return this.send(
      name,
      request,
      response,
      200,
      {
        status: 0,
        data: {
          user: { id: account.userId, email: account.email, country: "DE", accountType: "pat", uom: "1" },
          messages: { unread: 0 },
          notifications: { unresolved: 0 },
          authTicket: this.issue(account, region, "session"),
          invitations: null,
          trustedDeviceToken: ""
        }
      },
      extra
    )
  }

  /** The account a call acts as, or an answer refusing it (sent here) and undefined. */
  private authenticate(name: string, region: string, request: IncomingMessage, response: ServerResponse) {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1]
    const ticket = token === undefined ? undefined : this.tickets.get(token)
    const expired = { message: "invalid or expired jwt" }
    if (
      ticket === undefined ||
      ticket.revoked ||
      ticket.kind !== "session" ||
      ticket.region !== region ||
      ticket.expires * 1000 <= this.now()
    ) {
      this.send(name, request, response, 401, expired)
      return undefined
    }
    const account = this.account(ticket.email)
    const expected = createHash("sha256").update(account.userId).digest("hex")
    if (request.headers["account-id"] !== expected) {
      this.send(name, request, response, 400, { message: "RequiredHeaderMissing" })
      return undefined
    }
    return account
  }

  private visible(patient: Patient, until: number) {
    return patient.awaySince === null ? until : Math.min(until, patient.awaySince)
  }

  private currentOf(patient: Patient) {
    const until = this.visible(patient, this.now())
    return patient.sensor.minutes.filter((minute) => minute.epochMillis <= until).at(-1)
  }

  private historyOf(patient: Patient) {
    const now = this.now()
    const until = this.visible(patient, now - 15 * 60_000)
    return patient.sensor.history.filter((point) => point.epochMillis >= now - 12 * HOUR && point.epochMillis <= until)
  }

  private connectionJson(patient: Patient) {
    const current = this.currentOf(patient)
    const item =
      current === undefined ? null : libreItemJson(current, { zone: patient.zone, unit: patient.unit, type: 1 })
    return {
      id: randomUUID(),
      patientId: patient.patientId,
      country: "DE",
      status: 2,
      firstName: patient.firstName,
      lastName: patient.lastName,
      targetLow: 70,
      targetHigh: 180,
      uom: patient.unit === "mg/dL" ? 1 : 0,
      sensor: patient.sensor.minutes.length === 0 ? null : { deviceId: "", sn: "FAKE0001", a: 0, w: 60, pt: 4 },
      alarmRules: {},
      glucoseMeasurement: item,
      glucoseItem: item,
      glucoseAlarm: null,
      patientDevice: { did: "fake", dtid: 40068, v: "3.3.1", ll: 70, hl: 180 },
      created: 1_700_000_000
    }
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
