/**
 * The accounts of the fake LibreLinkUp (`FakeLibreLinkUpServer.ts`): follower accounts with a home region, their
 * patients and sensors, tickets, failed logins and lockouts, and the answers LibreLinkUp gives about them
 * (see docs/libre.md), as `{ status, body }` for the server to send.
 */
import { createHash, randomUUID } from "node:crypto"
import { type LibreSensor, type LibreUnit, libreItemJson } from "./libreRecords.ts"

const HOUR = 3_600_000

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

export interface FakeLibreAccountsOptions {
  /** The fake's clock, epoch milliseconds: ticket expiry, lockouts, which readings exist yet. */
  readonly now?: () => number
  /** Failed logins in a row after which the account is locked (default 3), and for how long (default 300 s). */
  readonly lockAfter?: number
  readonly lockoutSeconds?: number
  /** The HTTP status of the lockout answer (LibreLinkUp answers 200 with status 429 in the body; default 200). */
  readonly lockHttpStatus?: number
  /** A ticket's life (default 180 days). */
  readonly ticketMillis?: number
}

/** An answer to send: the HTTP status, the JSON body, and the account it concerned (for the request log). */
export interface FakeAnswer {
  readonly status: number
  readonly body: unknown
  readonly email?: string
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

const base64Url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

export class FakeLibreAccounts {
  protected readonly now: () => number
  private readonly accounts = new Map<string, Account>()
  private readonly tickets = new Map<string, Ticket>()
  private readonly settings: Required<Omit<FakeLibreAccountsOptions, "now">>

  constructor(options: FakeLibreAccountsOptions = {}) {
    this.now = options.now ?? Date.now
    this.settings = {
      lockAfter: options.lockAfter ?? 3,
      lockoutSeconds: options.lockoutSeconds ?? 300,
      lockHttpStatus: options.lockHttpStatus ?? 200,
      ticketMillis: options.ticketMillis ?? 180 * 24 * HOUR
    }
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
    account.failedInARow = this.settings.lockAfter
    account.lockedUntil = this.now() + this.settings.lockoutSeconds * 1000
  }

  unlock(email: string) {
    const account = this.account(email)
    account.lockedUntil = 0
    account.failedInARow = 0
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

  private account(email: string): Account {
    const account = this.accounts.get(email.toLowerCase())
    if (account === undefined) throw new Error(`the fake has no account ${email}`)
    return account
  }

  private issue(account: Account, region: string, kind: Ticket["kind"]) {
    const millis = kind === "step" ? HOUR : this.settings.ticketMillis
    const expires = Math.floor((this.now() + millis) / 1000)
    const token = [
      base64Url({ alg: "HS256", typ: "JWT" }),
      base64Url({ id: account.userId, region, exp: expires, jti: randomUUID() }),
      randomUUID().replaceAll("-", "")
    ].join(".")
    this.tickets.set(token, { email: account.email, region, expires, kind, revoked: false })
    return { token, expires, duration: millis }
  }

  /**
   * `POST /llu/auth/login` at a server of `region`: a lockout, a redirect to the account's home (before the
   * password is checked), a refusal (counted towards the lockout), a step, or a ticket.
   */
  protected login(region: string, body: { readonly email?: unknown; readonly password?: unknown }): FakeAnswer {
    const account = this.accounts.get(String(body.email ?? "").toLowerCase())
    const refused = { status: 2, error: { message: "notAuthenticated" } }
    if (account === undefined) return { status: 200, body: refused }
    account.loginAttempts += 1
    const email = account.email
    const now = this.now()
    if (account.lockedUntil > now) {
      const data = { failures: account.failedInARow, interval: 60, lockout: this.settings.lockoutSeconds }
      return {
        status: this.settings.lockHttpStatus,
        body: { status: 429, data: { code: 60, data, message: "locked" } },
        email
      }
    }
    if (account.region !== region) {
      return { status: 200, body: { status: 0, data: { redirect: true, region: account.region } }, email }
    }
    if (body.password !== account.password) {
      account.failedInARow += 1
      if (account.failedInARow >= this.settings.lockAfter) {
        account.lockedUntil = now + this.settings.lockoutSeconds * 1000
      }
      return { status: 200, body: refused, email }
    }
    account.failedInARow = 0
    if (account.step !== null) {
      const step = { type: account.step, componentName: "AcceptDocument", props: {} }
      const authTicket = this.issue(account, region, "step")
      return { status: 200, body: { status: 4, data: { step, user: { accountType: "pat" }, authTicket } }, email }
    }
    const user = { id: account.userId, email: account.email, country: "DE", accountType: "pat", uom: "1" }
    const data = {
      user,
      messages: { unread: 0 },
      notifications: { unresolved: 0 },
      authTicket: this.issue(account, region, "session"),
      invitations: null,
      trustedDeviceToken: ""
    }
    return { status: 200, body: { status: 0, data }, email }
  }

  /**
   * An authenticated `GET /llu/connections[/{patientId}/graph|logbook]` at a server of `region`: the ticket must
   * be a session's, alive, unrevoked and of this region, and `account-id` the SHA-256 of the follower's user id.
   */
  protected connections(
    region: string,
    path: ReadonlyArray<string>,
    headers: { readonly authorization?: string | undefined; readonly accountId?: string | undefined }
  ): FakeAnswer {
    const token = /^Bearer (.+)$/.exec(headers.authorization ?? "")?.[1]
    const found = token === undefined ? undefined : this.tickets.get(token)
    if (
      found === undefined ||
      found.revoked ||
      found.kind !== "session" ||
      found.region !== region ||
      found.expires * 1000 <= this.now()
    ) {
      return { status: 401, body: { message: "invalid or expired jwt" } }
    }
    const account = this.account(found.email)
    if (headers.accountId !== createHash("sha256").update(account.userId).digest("hex")) {
      return { status: 400, body: { message: "RequiredHeaderMissing" } }
    }
    const ticket = this.issue(account, region, "session")
    if (path.length === 0) {
      return { status: 200, body: { status: 0, data: account.patients.map((p) => this.connectionJson(p)), ticket } }
    }
    const patient = account.patients.find((candidate) => candidate.patientId === decodeURIComponent(path[0]!))
    if (patient === undefined || path.length !== 2 || (path[1] !== "graph" && path[1] !== "logbook")) {
      return { status: 200, body: { status: 4, error: { message: "couldNotLoadPatient" } } }
    }
    if (path[1] === "logbook") return { status: 200, body: { status: 0, data: [], ticket } }
    const graphData = this.historyOf(patient).map((point) =>
      libreItemJson(point, { zone: patient.zone, unit: patient.unit, type: 0 })
    )
    return {
      status: 200,
      body: { status: 0, data: { connection: this.connectionJson(patient), activeSensors: [], graphData }, ticket }
    }
  }

  private visible(patient: Patient, until: number) {
    return patient.awaySince === null ? until : Math.min(until, patient.awaySince)
  }

  /** The newest minute reading up to now (or the phone's leaving). */
  private currentOf(patient: Patient) {
    const until = this.visible(patient, this.now())
    return patient.sensor.minutes.filter((minute) => minute.epochMillis <= until).at(-1)
  }

  /** The history of the last 12 hours, up to 15 minutes ago (or the phone's leaving), oldest first. */
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
