/**
 * A fake of the Dexcom API v3 on loopback (node:http) that behaves as the Dexcom API does (docs/dexcom.md):
 * consent page (allow → redirect with code and state, deny → error=access_denied), token endpoint with rotating
 * refresh tokens (an old one → 400 invalid_grant), access tokens that expire (→ 401), revocation, the 30-day
 * window limit (→ 400), dataRange (with `lastSyncTime`: only the ranges of records that reached the fake after it,
 * each record keeping the time it arrived), EGVs in any order with duplicates, and faults on demand (status codes
 * such as 429 with Retry-After or 503, connection resets, delays, malformed bodies).
 *
 * Every request is recorded with when it arrived and when it was answered (epoch milliseconds, fractional), so
 * that a test can tell calls that overlapped in time; a client may prefix its paths with `/via/<name>` (its
 * `DEXCOM_API_BASE_URL` ends with it) so that calls of several processes sharing the fake are told apart.
 *
 * Used by the adapter's tests and by end-to-end tests; nothing in it is specific to one test.
 */
import { randomBytes } from "node:crypto"
import type { IncomingMessage, ServerResponse } from "node:http"
import type { DexcomRecord } from "./dexcomRecords.ts"
import { type FakeServer, readBody, scopedFake, startFakeServer } from "./FakeServer.ts"

export interface FakeDexcomOptions {
  readonly clientId?: string
  readonly clientSecret?: string
  /** Redirect URIs registered for the client; when empty, any is accepted. */
  readonly redirectUris?: ReadonlyArray<string>
  /** Lifetime of issued access tokens, in seconds (Dexcom: 7200). */
  readonly accessTokenLifetimeSeconds?: number
  /** Answer EGVs in a scrambled order (default true). */
  readonly scramble?: boolean
  /** Repeat every n-th record in an EGV answer (default 10; 0 for none). */
  readonly duplicateEvery?: number
  /** The fake's clock, epoch milliseconds (token expiry, when records arrive). */
  readonly now?: () => number
  /** How long the API takes to answer a request to `path` (after its body is read), in milliseconds; none by default. */
  readonly latency?: (path: string) => number
}

export type FakeFault =
  | { readonly kind: "status"; readonly status: number; readonly retryAfter?: string; readonly body?: string }
  | { readonly kind: "reset" }
  | { readonly kind: "delay"; readonly millis: number }
  | { readonly kind: "body"; readonly body: string }

export interface FakeRequest {
  readonly method: string
  readonly path: string
  readonly status: number
  /** The grant of a token request. */
  readonly grantType?: string
  /** The user the request acted as, when known. */
  readonly username?: string
  /** The `lastSyncTime` of a dataRange request, verbatim, when it had one. */
  readonly lastSyncTime?: string
  /** The `startDate` and `endDate` of an EGV request, verbatim. */
  readonly startDate?: string
  readonly endDate?: string
  /** When the request arrived and when its answer was sent (or the connection dropped): epoch ms, fractional. */
  readonly startedAt: number
  readonly finishedAt: number
  /** The `<name>` of a `/via/<name>` prefix the client put before the path. */
  readonly via?: string
}

/** A request being answered right now. */
export interface InFlightRequest {
  readonly method: string
  readonly path: string
  readonly startedAt: number
  readonly via?: string
  /** The user whose token it carries, if any. */
  username?: string
}

/** A record with the time it reached Dexcom (epoch milliseconds on the fake's clock). */
interface StoredRecord {
  readonly record: DexcomRecord
  readonly arrivedAt: number
}

interface UserState {
  readonly dexcomUserId: string
  records: Array<StoredRecord>
  late: Array<DexcomRecord>
}

interface IssuedToken {
  readonly username: string
  readonly kind: "access" | "refresh"
  readonly expiresAt: number
  valid: boolean
}

interface IssuedCode {
  readonly username: string
  readonly redirectUri: string
  readonly expiresAt: number
  used: boolean
}

interface PendingFault {
  readonly fault: FakeFault
  readonly path: string | undefined
  remaining: number
}

const DAY_MILLIS = 86_400_000
/** `/via/<name>/rest`: a client's own prefix before the API's path. */
const VIA = /^\/via\/([^/]+)(\/.*)$/

/** The machine's clock in fractional milliseconds, the same in every process (unlike `performance.now()`). */
const wallClockMillis = () => performance.timeOrigin + performance.now()
const DEXCOM_QUERY_DATE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/

const parseQueryDate = (text: string | null): number | undefined => {
  const match = text === null ? null : DEXCOM_QUERY_DATE.exec(text)
  if (match === null) return undefined
  const millis = Date.parse(`${text}Z`)
  return Number.isNaN(millis) ? undefined : millis
}

/** The fake's own records use `Z` or no zone; both are UTC. */
const recordMillis = (record: DexcomRecord) =>
  Date.parse(record.systemTime.endsWith("Z") ? record.systemTime : `${record.systemTime}Z`)

const token = () => randomBytes(24).toString("base64url")

const escapeHtml = (text: string) =>
  text.replaceAll("&", "&amp;").replaceAll('"', "&quot;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")

export class FakeDexcom {
  readonly clientId: string
  readonly clientSecret: string
  readonly requests: Array<FakeRequest> = []
  /** Requests that arrived and are not answered yet. */
  readonly inFlight = new Set<InFlightRequest>()
  private readonly arrivals = new WeakMap<IncomingMessage, InFlightRequest>()
  private readonly users = new Map<string, UserState>()
  private readonly tokens = new Map<string, IssuedToken>()
  private readonly codes = new Map<string, IssuedCode>()
  private readonly faults: Array<PendingFault> = []
  private readonly options: FakeDexcomOptions
  private readonly now: () => number
  private server: FakeServer | undefined

  constructor(options: FakeDexcomOptions = {}) {
    this.options = options
    this.clientId = options.clientId ?? "fake-client-id"
    this.clientSecret = options.clientSecret ?? "fake-client-secret"
    this.now = options.now ?? Date.now
  }

  /** `http://127.0.0.1:<port>`, the value for `DEXCOM_API_BASE_URL`. */
  get url(): string {
    return this.server?.url ?? ""
  }

  async listen(): Promise<this> {
    this.server = await startFakeServer({
      handle: (request, response) => this.handle(request, response),
      onError: (request, response, error) => {
        this.send(response, request, 500, { error: "server_error" })
        console.error("fake Dexcom failed", error)
      }
    })
    return this
  }

  close = (): Promise<void> => this.server?.close() ?? Promise.resolve()

  /**
   * Adds a Dexcom account (such as `SandboxUser1`) holding `records`, arrived now; `late` ones arrive on
   * `deliverLate`.
   */
  addUser(username: string, data: { records?: ReadonlyArray<DexcomRecord>; late?: ReadonlyArray<DexcomRecord> } = {}) {
    this.users.set(username, {
      dexcomUserId: `dexcom-${username}`,
      records: this.arriving(data.records ?? []),
      late: [...(data.late ?? [])]
    })
    return this
  }

  /** New records reach the API now. */
  addRecords(username: string, records: ReadonlyArray<DexcomRecord>) {
    this.user(username).records.push(...this.arriving(records))
  }

  /**
   * Late records (a transmitter's backfill after a signal loss) reach the API now: the next `count` of them in
   * the order given to `addUser`, or all.
   */
  deliverLate(username: string, count?: number) {
    const user = this.user(username)
    const delivered = user.late.slice(0, count ?? user.late.length)
    user.late = user.late.slice(delivered.length)
    user.records.push(...this.arriving(delivered))
    return delivered
  }

  /** Late records not delivered yet. */
  pendingLate(username: string): number {
    return this.user(username).late.length
  }

  /** The next `times` requests whose path starts with `path` (any path when absent) meet `fault`. */
  inject(fault: FakeFault, options: { readonly path?: string; readonly times?: number } = {}) {
    this.faults.push({ fault, path: options.path, remaining: options.times ?? 1 })
  }

  /** Every access token issued so far (of one user, or all) stops working: the next call gets 401. */
  expireAccessTokens(username?: string) {
    for (const issued of this.tokens.values()) {
      if (issued.kind === "access" && (username === undefined || issued.username === username)) issued.valid = false
    }
  }

  /** The user revokes the application's access: every token of theirs dies (refresh → invalid_grant). */
  revoke(username: string) {
    for (const issued of this.tokens.values()) if (issued.username === username) issued.valid = false
  }

  /** Every code and token issued so far: none of them may ever appear in a log. */
  issuedSecrets(): ReadonlyArray<string> {
    return [...this.codes.keys(), ...this.tokens.keys(), this.clientSecret]
  }

  /** How many requests reached `path` (exact path, optionally one grant type of the token endpoint). */
  count(path: string, grantType?: string): number {
    return this.requests.filter((r) => r.path === path && (grantType === undefined || r.grantType === grantType)).length
  }

  /**
   * Plays the user on the consent page: opens `consentUrl` (the login page), signs in as `username` and
   * allows or denies. Answers the URL Dexcom redirects the browser to (the redirect URI with its parameters).
   */
  async consent(consentUrl: string, options: { readonly username: string; readonly allow?: boolean }): Promise<URL> {
    const page = await fetch(consentUrl)
    const html = await page.text()
    if (page.status !== 200) throw new Error(`the consent page answered ${page.status}: ${html}`)
    const fields = new URLSearchParams()
    for (const match of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
      fields.set(
        match[1]!,
        match[2]!.replaceAll("&quot;", '"').replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&amp;", "&")
      )
    }
    fields.set("username", options.username)
    fields.set("decision", options.allow === false ? "deny" : "allow")
    const answer = await fetch(`${this.url}/v2/oauth2/login`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: fields,
      redirect: "manual"
    })
    const location = answer.headers.get("location")
    if (answer.status !== 302 || location === null) {
      throw new Error(`the consent form answered ${answer.status}: ${await answer.text()}`)
    }
    return new URL(location)
  }

  private arriving(records: ReadonlyArray<DexcomRecord>): Array<StoredRecord> {
    const arrivedAt = this.now()
    return records.map((record) => ({ record, arrivedAt }))
  }

  private user(username: string): UserState {
    const user = this.users.get(username)
    if (user === undefined) throw new Error(`fake Dexcom has no user ${username}`)
    return user
  }

  private send(
    response: ServerResponse,
    request: IncomingMessage,
    status: number,
    body: unknown,
    extra: Omit<FakeRequest, "method" | "path" | "status" | "startedAt" | "finishedAt" | "via"> & {
      headers?: Record<string, string>
    } = {}
  ) {
    const text = typeof body === "string" ? body : JSON.stringify(body)
    response.writeHead(status, {
      "content-type": typeof body === "string" ? "text/html; charset=utf-8" : "application/json",
      ...extra.headers
    })
    response.end(text)
    this.requests.push({
      ...this.finish(request),
      status,
      ...(extra.grantType === undefined ? {} : { grantType: extra.grantType }),
      ...(extra.username === undefined ? {} : { username: extra.username }),
      ...(extra.lastSyncTime === undefined ? {} : { lastSyncTime: extra.lastSyncTime }),
      ...(extra.startDate === undefined ? {} : { startDate: extra.startDate }),
      ...(extra.endDate === undefined ? {} : { endDate: extra.endDate })
    })
  }

  /** The request's arrival record, taken out of `inFlight`: its method, path (prefix removed), times and `via`. */
  private finish(request: IncomingMessage) {
    const arrival = this.arrivals.get(request)
    if (arrival !== undefined) this.inFlight.delete(arrival)
    return {
      method: request.method ?? "GET",
      path: arrival?.path ?? new URL(request.url ?? "/", "http://fake").pathname,
      startedAt: arrival?.startedAt ?? wallClockMillis(),
      finishedAt: wallClockMillis(),
      ...(arrival?.via === undefined ? {} : { via: arrival.via })
    }
  }

  private takeFault(path: string): FakeFault | undefined {
    const pending = this.faults.find((f) => f.remaining > 0 && (f.path === undefined || path.startsWith(f.path)))
    if (pending === undefined) return undefined
    pending.remaining -= 1
    return pending.fault
  }

  private async handle(request: IncomingMessage, response: ServerResponse) {
    const startedAt = wallClockMillis()
    const url = new URL(request.url ?? "/", this.url)
    const prefix = VIA.exec(url.pathname)
    if (prefix !== null) url.pathname = prefix[2]!
    const arrival: InFlightRequest = {
      method: request.method ?? "GET",
      path: url.pathname,
      startedAt,
      ...(prefix === null ? {} : { via: prefix[1]! })
    }
    // Whose call it is, from its bearer token, while it is still being answered.
    const bearer = (request.headers.authorization ?? "").replace(/^Bearer /, "")
    const caller = this.tokens.get(bearer)?.username
    if (caller !== undefined) arrival.username = caller
    this.arrivals.set(request, arrival)
    this.inFlight.add(arrival)
    // A client that goes away (a process killed mid-call) leaves nothing in flight.
    response.once("close", () => this.inFlight.delete(arrival))
    const body = await readBody(request)
    const latency = this.options.latency?.(url.pathname) ?? 0
    if (latency > 0) await new Promise((resolve) => setTimeout(resolve, latency))
    const fault = this.takeFault(url.pathname)
    if (fault !== undefined) {
      switch (fault.kind) {
        case "reset":
          this.requests.push({ ...this.finish(request), status: 0 })
          request.socket.destroy()
          return
        case "status":
          return this.send(response, request, fault.status, fault.body ?? { error: `fault_${fault.status}` }, {
            headers: fault.retryAfter === undefined ? {} : { "retry-after": fault.retryAfter }
          })
        case "body":
          response.writeHead(200, { "content-type": "application/json" })
          response.end(fault.body)
          this.requests.push({ ...this.finish(request), status: 200 })
          return
        case "delay":
          await new Promise((resolve) => setTimeout(resolve, fault.millis))
          if (request.socket.destroyed) return
      }
    }
    const route = `${request.method} ${url.pathname}`
    switch (route) {
      case "GET /v2/oauth2/login":
        return this.loginPage(request, response, url.searchParams)
      case "POST /v2/oauth2/login":
        return this.loginSubmit(request, response, new URLSearchParams(body))
      case "POST /v2/oauth2/token":
        return this.tokenEndpoint(request, response, new URLSearchParams(body))
      case "GET /v3/users/self/dataRange":
        return this.dataRange(request, response, url.searchParams)
      case "GET /v3/users/self/egvs":
        return this.egvs(request, response, url.searchParams)
      default:
        return this.send(response, request, 404, { error: "not_found" })
    }
  }

  private checkClientAndRedirect(params: URLSearchParams): string | undefined {
    if (params.get("client_id") !== this.clientId) return "unknown client_id"
    const redirectUri = params.get("redirect_uri")
    if (redirectUri === null || redirectUri === "") return "missing redirect_uri"
    const registered = this.options.redirectUris ?? []
    if (registered.length > 0 && !registered.includes(redirectUri)) return "redirect_uri is not registered"
    return undefined
  }

  private loginPage(request: IncomingMessage, response: ServerResponse, params: URLSearchParams) {
    const problem =
      this.checkClientAndRedirect(params) ??
      (params.get("response_type") !== "code" ? "response_type must be code" : undefined) ??
      (!(params.get("scope") ?? "").split(" ").includes("offline_access")
        ? "scope must include offline_access"
        : undefined)
    if (problem !== undefined) return this.send(response, request, 400, `<p>${escapeHtml(problem)}</p>`)
    const hidden = ["client_id", "redirect_uri", "state", "scope"]
      .map((name) => `<input type="hidden" name="${name}" value="${escapeHtml(params.get(name) ?? "")}">`)
      .join("\n")
    return this.send(
      response,
      request,
      200,
      `<!doctype html><title>Dexcom sign in (fake)</title><form method="post" action="/v2/oauth2/login">
${hidden}
<input name="username"><button name="decision" value="allow">Allow</button><button name="decision" value="deny">Deny</button>
</form>`
    )
  }

  private loginSubmit(request: IncomingMessage, response: ServerResponse, form: URLSearchParams) {
    const problem = this.checkClientAndRedirect(form)
    if (problem !== undefined) return this.send(response, request, 400, `<p>${escapeHtml(problem)}</p>`)
    const username = form.get("username") ?? ""
    const redirect = new URL(form.get("redirect_uri")!)
    const state = form.get("state")
    if (form.get("decision") === "deny") {
      redirect.searchParams.set("error", "access_denied")
    } else {
      if (!this.users.has(username)) return this.send(response, request, 200, "<p>Unknown user or password</p>")
      const code = token()
      this.codes.set(code, {
        username,
        redirectUri: form.get("redirect_uri")!,
        expiresAt: this.now() + 600_000,
        used: false
      })
      redirect.searchParams.set("code", code)
    }
    if (state !== null && state !== "") redirect.searchParams.set("state", state)
    return this.send(response, request, 302, "", { headers: { location: redirect.toString() }, username })
  }

  private issueTokens(username: string) {
    const accessToken = token()
    const refreshToken = token()
    const lifetime = this.options.accessTokenLifetimeSeconds ?? 7200
    this.tokens.set(accessToken, { username, kind: "access", expiresAt: this.now() + lifetime * 1000, valid: true })
    this.tokens.set(refreshToken, { username, kind: "refresh", expiresAt: Number.POSITIVE_INFINITY, valid: true })
    return {
      access_token: accessToken,
      expires_in: lifetime,
      token_type: "Bearer",
      refresh_token: refreshToken,
      // Keycloak-style extras of newer answers, with a string where a number might be expected.
      refresh_expires_in: 0,
      "not-before-policy": "0",
      session_state: token(),
      scope: "offline_access"
    }
  }

  private tokenEndpoint(request: IncomingMessage, response: ServerResponse, form: URLSearchParams) {
    const grantType = form.get("grant_type") ?? ""
    const refuse = (status: number, error: string, username?: string) =>
      this.send(
        response,
        request,
        status,
        { error, error_description: `fake: ${error}` },
        {
          grantType,
          ...(username === undefined ? {} : { username })
        }
      )
    if ((request.headers["content-type"] ?? "").split(";")[0] !== "application/x-www-form-urlencoded") {
      return refuse(400, "invalid_request")
    }
    if (form.get("client_id") !== this.clientId || form.get("client_secret") !== this.clientSecret) {
      return refuse(401, "invalid_client")
    }
    if (grantType === "authorization_code") {
      const issued = this.codes.get(form.get("code") ?? "")
      if (issued === undefined || issued.used || issued.expiresAt <= this.now()) return refuse(400, "invalid_grant")
      if (issued.redirectUri !== form.get("redirect_uri")) return refuse(400, "invalid_grant", issued.username)
      issued.used = true
      return this.send(response, request, 200, this.issueTokens(issued.username), {
        grantType,
        username: issued.username
      })
    }
    if (grantType === "refresh_token") {
      const issued = this.tokens.get(form.get("refresh_token") ?? "")
      if (issued === undefined || issued.kind !== "refresh" || !issued.valid) {
        return refuse(400, "invalid_grant", issued?.username)
      }
      // Rotation: the refresh token just used dies.
      issued.valid = false
      return this.send(response, request, 200, this.issueTokens(issued.username), {
        grantType,
        username: issued.username
      })
    }
    return refuse(400, "unsupported_grant_type")
  }

  private authenticate(request: IncomingMessage): string | undefined {
    const header = request.headers.authorization ?? ""
    if (!header.startsWith("Bearer ")) return undefined
    const issued = this.tokens.get(header.slice("Bearer ".length))
    if (issued === undefined || issued.kind !== "access" || !issued.valid || issued.expiresAt <= this.now()) {
      return undefined
    }
    return issued.username
  }

  /**
   * The first and last record (by `systemTime`); with `lastSyncTime`, of the records that reached the fake after
   * it, late ones included, and no `egvs` at all when none did.
   */
  private dataRange(request: IncomingMessage, response: ServerResponse, params: URLSearchParams) {
    const username = this.authenticate(request)
    if (username === undefined) return this.send(response, request, 401, { error: "invalid_token" })
    const user = this.user(username)
    const lastSyncTimeText = params.get("lastSyncTime")
    const extra = { username, ...(lastSyncTimeText === null ? {} : { lastSyncTime: lastSyncTimeText }) }
    let stored = user.records
    if (lastSyncTimeText !== null) {
      const lastSyncTime = parseQueryDate(lastSyncTimeText)
      if (lastSyncTime === undefined) {
        return this.send(response, request, 400, { error: "lastSyncTime must be YYYY-MM-DDThh:mm:ss" }, extra)
      }
      stored = stored.filter(({ arrivedAt }) => arrivedAt > lastSyncTime)
    }
    const sorted = stored.map(({ record }) => record).sort((a, b) => recordMillis(a) - recordMillis(b))
    const first = sorted[0]
    const last = sorted.at(-1)
    const span = (record: DexcomRecord) => ({ systemTime: record.systemTime, displayTime: record.displayTime })
    return this.send(
      response,
      request,
      200,
      {
        recordType: "dataRange",
        recordVersion: "3.0",
        userId: user.dexcomUserId,
        ...(first === undefined || last === undefined ? {} : { egvs: { start: span(first), end: span(last) } })
      },
      extra
    )
  }

  private egvs(request: IncomingMessage, response: ServerResponse, params: URLSearchParams) {
    const username = this.authenticate(request)
    if (username === undefined) return this.send(response, request, 401, { error: "invalid_token" })
    const start = parseQueryDate(params.get("startDate"))
    const end = parseQueryDate(params.get("endDate"))
    const extra = {
      username,
      ...(params.get("startDate") === null ? {} : { startDate: params.get("startDate")! }),
      ...(params.get("endDate") === null ? {} : { endDate: params.get("endDate")! })
    }
    if (start === undefined || end === undefined) {
      return this.send(response, request, 400, { error: "startDate and endDate must be YYYY-MM-DDThh:mm:ss" }, extra)
    }
    if (end < start) return this.send(response, request, 400, { error: "endDate before startDate" }, extra)
    if (end - start > 30 * DAY_MILLIS) {
      return this.send(response, request, 400, { error: "the window may be at most 30 days" }, extra)
    }
    const user = this.user(username)
    let records = user.records
      .map(({ record }) => record)
      .filter((record) => {
        const at = recordMillis(record)
        return at >= start && at <= end
      })
    const every = this.options.duplicateEvery ?? 10
    if (every > 0) records = records.flatMap((record, index) => (index % every === 0 ? [record, record] : [record]))
    if (this.options.scramble ?? true) {
      // A fixed permutation, so that an answer is reproducible: odd positions first, then even ones reversed.
      records = [...records.filter((_, i) => i % 2 === 1), ...records.filter((_, i) => i % 2 === 0).reverse()]
    }
    return this.send(
      response,
      request,
      200,
      { recordType: "egv", recordVersion: "3.0", userId: user.dexcomUserId, records },
      extra
    )
  }
}

export const startFakeDexcom = (options: FakeDexcomOptions = {}): Promise<FakeDexcom> =>
  new FakeDexcom(options).listen()

/** A fake Dexcom server for the life of the scope. */
export const fakeDexcom = (options: FakeDexcomOptions = {}) => scopedFake(() => startFakeDexcom(options))
