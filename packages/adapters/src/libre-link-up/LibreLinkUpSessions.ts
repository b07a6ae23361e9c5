import {
  CredentialsRejected,
  type FollowedPatient,
  InvalidProviderResponse,
  NeedsReauthorization,
  PatientChoiceRequired,
  type ProviderCredentials,
  type ProviderCredentialsLogin,
  type ProviderError,
  type ProviderId,
  ProviderUnavailable,
  type UserId
} from "@bg-ingest/domain"
import { Clock, Duration, Effect, Option, Redacted, Schema } from "effect"
import { makeCredentialVault } from "../provider-credentials/CredentialVault.ts"
import { makeUserSessions, type SealedSession } from "../provider-credentials/UserSessions.ts"
import type { LibreAnswer, LibreLinkUpClient } from "./LibreLinkUpClient.ts"
import {
  type LibreAccount,
  type LibreLinkUpLogin,
  type LibreLoggedIn,
  type LoginRefused,
  libreAccountKey
} from "./LibreLinkUpLogin.ts"
import { LibreConnections, LibreTicket } from "./LibreLinkUpSchemas.ts"
import type { LibreLinkUpSettings } from "./LibreLinkUpSettings.ts"

/**
 * What is sealed into `Connection.credentials`: the login, the chosen patient, the account's region (so that later
 * logins go straight there) and the ticket of the connect's login (so that the first sync, on any replica, needs
 * none). Renewed tickets stay in this process's memory.
 */
const StoredCredentials = Schema.Struct({
  username: Schema.String,
  password: Schema.String,
  patientId: Schema.String,
  region: Schema.NullOr(Schema.String),
  ticket: Schema.NullOr(Schema.Struct({ token: Schema.String, expiresAtMillis: Schema.Finite, userId: Schema.String }))
})
type StoredCredentials = typeof StoredCredentials.Type
const decodeConnections = Schema.decodeUnknownOption(LibreConnections)
const decodeTicket = Schema.decodeUnknownOption(LibreTicket)

/** A user's open session: where their patient's calls go and what they carry. */
export interface LibreSession extends SealedSession {
  readonly patientId: string
  readonly baseUrl: string
  readonly account: string
  readonly accountId: string
  readonly token: Redacted.Redacted<string>
  readonly expiresAtMillis: number
  /** Opened by this call: LibreLinkUp refusing it again is not a reason to log in a second time. */
  readonly fresh: boolean
}

export interface LibreLinkUpSessions {
  /**
   * One login with `credentials`, then the list of followed patients to pick the one to read (`patientId`, or the
   * only one); answers the credentials sealed for `Connection.credentials` and keeps the session.
   */
  readonly verify: ProviderCredentialsLogin["verify"]
  /**
   * A session for the user's stored credentials: the one kept in memory, else the stored ticket, else one login
   * (one at a time per user). A ticket close to its expiry is renewed by a login first. `stale` is a token
   * LibreLinkUp just refused.
   */
  readonly session: (
    userId: UserId,
    stale: Redacted.Redacted<string> | null
  ) => Effect.Effect<LibreSession, ProviderError>
  /** Adopts the refreshed ticket an authenticated answer carried, if it is still this user's session. */
  readonly adopt: (userId: UserId, sealed: string, ticket: unknown) => Effect.Effect<void>
}

const patientName = (first: string | null | undefined, last: string | null | undefined) =>
  [first, last]
    .filter((part) => typeof part === "string" && part.trim() !== "")
    .join(" ")
    .trim()

/** Sessions of LibreLinkUp users: at most one login per call, through `LibreLinkUpLogin`'s rules. */
export const makeLibreLinkUpSessions = Effect.fnUntraced(function* (
  provider: ProviderId,
  settings: LibreLinkUpSettings,
  client: LibreLinkUpClient,
  logins: LibreLinkUpLogin
) {
  const vault = yield* makeCredentialVault(provider, StoredCredentials, {
    what: "LibreLinkUp credentials",
    reconnect: "connect the account"
  })
  const sessions = makeUserSessions<Omit<LibreSession, "fresh">>(vault)

  const sessionOf = (sealed: string, stored: StoredCredentials, loggedIn: LibreLoggedIn) => ({
    sealed,
    patientId: stored.patientId,
    baseUrl: loggedIn.baseUrl,
    account: libreAccountKey(stored.username),
    accountId: loggedIn.accountId,
    token: loggedIn.token,
    expiresAtMillis: loggedIn.expiresAtMillis
  })

  /** The account's patients, read with a ticket just issued (a 401 now is LibreLinkUp failing, not an expiry). */
  const followedPatients = Effect.fnUntraced(function* (account: LibreAccount, loggedIn: LibreLoggedIn) {
    const answer: LibreAnswer = yield* client.send({
      operation: "connections",
      baseUrl: loggedIn.baseUrl,
      path: "/llu/connections",
      auth: { token: loggedIn.token, accountId: loggedIn.accountId },
      account: libreAccountKey(account.username),
      retry: true
    })
    const envelope = Option.getOrUndefined(answer.envelope)
    if (answer.httpStatus !== 200 || envelope?.status !== 0) {
      return yield* new ProviderUnavailable({
        provider,
        message: `LibreLinkUp refused to list the followed patients right after the login (HTTP ${answer.httpStatus}${envelope?.status === undefined || envelope.status === null ? "" : `, status ${envelope.status}`})`
      })
    }
    const list = decodeConnections(envelope.data)
    if (Option.isNone(list)) {
      return yield* new InvalidProviderResponse({
        provider,
        message: "LibreLinkUp's list of followed patients is unreadable"
      })
    }
    return list.value.map(
      (connection): FollowedPatient => ({
        patientId: connection.patientId,
        name: patientName(connection.firstName, connection.lastName)
      })
    )
  })

  const choosePatient = (patients: ReadonlyArray<FollowedPatient>, wanted: string | undefined) => {
    const choice = (reason: PatientChoiceRequired["reason"], message: string) =>
      Effect.fail(new PatientChoiceRequired({ provider, reason, patients, message }))
    if (patients.length === 0) {
      return choice(
        "no_patient",
        "This LibreLinkUp account follows no patient yet: the patient invites it from their LibreLink app, and the invitation is accepted in the LibreLinkUp app"
      )
    }
    if (wanted !== undefined) {
      const found = patients.find((patient) => patient.patientId.toLowerCase() === wanted.trim().toLowerCase())
      return found === undefined
        ? choice(
            "unknown_patient",
            `This LibreLinkUp account does not follow that patient_id: choose one of its ${patients.length} patients`
          )
        : Effect.succeed(found)
    }
    if (patients.length === 1) return Effect.succeed(patients[0]!)
    return choice(
      "patient_required",
      `This LibreLinkUp account follows ${patients.length} patients: choose one with patient_id`
    )
  }

  const verify = Effect.fn("LibreLinkUpSessions.verify")(function* (userId: UserId, input: ProviderCredentials) {
    const account: LibreAccount = {
      username: input.username.trim(),
      password: Redacted.value(input.password),
      region: null
    }
    const loggedIn = yield* logins
      .login(account)
      .pipe(
        Effect.catchTag("LoginRefused", (refused) =>
          Effect.fail(new CredentialsRejected({ provider, reason: refused.reason, message: refused.message }))
        )
      )
    const patient = yield* choosePatient(yield* followedPatients(account, loggedIn), input.patientId)
    const stored: StoredCredentials = {
      username: account.username,
      password: account.password,
      patientId: patient.patientId,
      region: loggedIn.region,
      ticket: {
        token: Redacted.value(loggedIn.token),
        expiresAtMillis: loggedIn.expiresAtMillis,
        userId: loggedIn.userId
      }
    }
    const sealed = yield* vault.seal(userId, stored)
    sessions.keep(userId, sessionOf(sealed, stored, loggedIn))
    return sealed
  })

  const needsReauthorization = (message: string) => new NeedsReauthorization({ provider, message })

  /**
   * A login refused while polling, a lockout included: stop and wait for a person. Retrying by ourselves after a
   * lockout would risk the next lock (the lockout says someone is typing wrong passwords); the message says when
   * the account holder can connect again.
   */
  const pollingFailure = (refused: LoginRefused) => needsReauthorization(refused.message)

  const session = Effect.fn("LibreLinkUpSessions.session")(function* (
    userId: UserId,
    stale: Redacted.Redacted<string> | null
  ) {
    return yield* sessions.locked(
      userId,
      Effect.gen(function* () {
        const { sealed, kept } = yield* sessions.current(userId)
        const now = yield* Clock.currentTimeMillis
        const usable = (token: string, expiresAtMillis: number) =>
          (stale === null || Redacted.value(stale) !== token) &&
          expiresAtMillis - Duration.toMillis(settings.ticketRenewalMargin) > now
        if (kept !== undefined && usable(Redacted.value(kept.token), kept.expiresAtMillis)) {
          return { ...kept, fresh: false }
        }
        const stored = yield* vault.open(userId, sealed)
        sessions.forget(userId)
        const ticket = stored.ticket
        if (kept === undefined && ticket !== null && usable(ticket.token, ticket.expiresAtMillis)) {
          const baseUrl = stored.region === null ? settings.baseUrl : yield* logins.regionServer(stored.region)
          const restored = sessionOf(sealed, stored, {
            ...ticket,
            token: Redacted.make(ticket.token),
            accountId: yield* logins.accountIdOf(ticket.userId),
            baseUrl,
            region: stored.region
          })
          sessions.keep(userId, restored)
          return { ...restored, fresh: false }
        }
        const loggedIn = yield* logins
          .login({ username: stored.username, password: stored.password, region: stored.region })
          .pipe(Effect.catchTag("LoginRefused", (refused) => Effect.fail(pollingFailure(refused))))
        const opened = sessionOf(sealed, stored, loggedIn)
        sessions.keep(userId, opened)
        yield* Effect.logDebug("LibreLinkUp session opened").pipe(Effect.annotateLogs({ userId }))
        return { ...opened, fresh: true }
      })
    )
  })

  const adopt = (userId: UserId, sealed: string, ticket: unknown) =>
    Effect.sync(() => {
      const kept = sessions.get(userId)
      const refreshed = decodeTicket(ticket)
      if (kept === undefined || kept.sealed !== sealed || Option.isNone(refreshed)) return
      const expiresAtMillis = refreshed.value.expires * 1000
      if (expiresAtMillis <= kept.expiresAtMillis) return
      sessions.keep(userId, { ...kept, token: Redacted.make(refreshed.value.token), expiresAtMillis })
    })

  return { verify, session, adopt } satisfies LibreLinkUpSessions
})
