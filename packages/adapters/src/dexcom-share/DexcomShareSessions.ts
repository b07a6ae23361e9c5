import {
  CredentialsRejected,
  InvalidProviderResponse,
  makeKeyedLock,
  NeedsReauthorization,
  type ProviderCredentials,
  type ProviderError,
  type ProviderId,
  ProviderUnavailable,
  type RateLimited,
  type UserId
} from "@bg-ingest/domain"
import { Clock, Data, DateTime, Duration, Effect, Option, Redacted, Schema } from "effect"
import { Mac } from "effect/crypto"
import { Hex } from "effect/encoding"
import { makeCredentialVault } from "../provider-credentials/CredentialVault.ts"
import { makeUserSessions, type SealedSession } from "../provider-credentials/UserSessions.ts"
import type { DexcomShareClient, ShareAnswer } from "./DexcomShareClient.ts"
import type { DexcomShareSettings } from "./DexcomShareSettings.ts"

/** What is sealed into `Connection.credentials`: the login, nothing else (sessions stay in memory). */
const StoredCredentials = Schema.Struct({ username: Schema.String, password: Schema.String })
type StoredCredentials = typeof StoredCredentials.Type
const encoder = new TextEncoder()
const decodeJsonString = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.String))

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
export const SHARE_NO_ID = "00000000-0000-0000-0000-000000000000"

/** Share answers a session error to a read when the session expired or never existed: log in again, once. */
export const isSessionExpired = (code: string) => code === "SessionIdNotFound" || code === "SessionNotValid"

/** A login Share refused, or one not tried because Share refused the same credentials a short while ago. */
class LoginRefused extends Data.TaggedError("LoginRefused")<{
  readonly reason: "invalid_credentials" | "account_locked" | "recently_refused"
  readonly message: string
}> {}

/**
 * What a refused login means. Share names a wrong password `AccountPasswordInvalid` (older servers:
 * `SSO_InternalError` "Cannot Authenticate…", or an all-zero id) and a locked account
 * `SSO_AuthenticateMaxAttemptsExceeed`. `SSO_InternalError` otherwise is Share failing. Any other code in answer
 * to a login is taken as a refusal too: guessing "transient" would let the next sync try the same password again,
 * and a few of those lock the account.
 */
export const classifyLoginRefusal = (
  code: string,
  message: string
): "invalid_credentials" | "account_locked" | "unavailable" => {
  if (/MaxAttempts|Locked/i.test(code) || /locked|too many|maximum .*attempts/i.test(message)) return "account_locked"
  if (code === "SSO_InternalError") return /cannot authenticate/i.test(message) ? "invalid_credentials" : "unavailable"
  return "invalid_credentials"
}

interface Session extends SealedSession {
  readonly accountId: string
  readonly sessionId: string
}

/** The last refusal of a username's login, and how many came in a row. */
interface Refusal {
  readonly fingerprint: string
  readonly reason: "invalid_credentials" | "account_locked"
  readonly code: string
  readonly atMillis: number
  /** No login of the username before this, whatever the password. */
  readonly untilMillis: number
  /** No login with the refused password before this. */
  readonly pairUntilMillis: number
  readonly inARow: number
}

/** Refusals in a row are counted while they are less than a day apart. */
const REFUSALS_REMEMBERED_MILLIS = 86_400_000

export interface ShareSession {
  readonly sessionId: string
  /** Opened by this call: Share refusing it again is not a reason to log in a second time. */
  readonly fresh: boolean
}

export interface DexcomShareSessions {
  /** One login with `credentials`; answers them sealed for `Connection.credentials` and keeps the session. */
  readonly verify: (
    userId: UserId,
    credentials: ProviderCredentials
  ) => Effect.Effect<string, CredentialsRejected | RateLimited | ProviderUnavailable | InvalidProviderResponse>
  /**
   * A session for the user's stored credentials: the one kept in memory, else one login (one at a time per user;
   * a caller that waited gets the session the other opened). `stale` is a session Share just refused.
   */
  readonly session: (userId: UserId, stale: string | null) => Effect.Effect<ShareSession, ProviderError>
}

/**
 * Logins and sessions of Dexcom Share users. Repeated failed logins lock a Share account, so a login is never
 * retried: at most one per call, none by the client's retries; after Share refused a login, no login of that
 * username is tried for `refusedUsernameBackoff` whatever the password (doubling with each refusal in a row, up to
 * `lockedAccountBackoff`), the refused pair not for `refusedCredentialsBackoff`, and a locked account not for
 * `lockedAccountBackoff`, whoever asks: three PUTs with three wrong passwords make one login, not three. The connection's status (`needs_reauthorization`, set by the sync from
 * the error) stops the polling until someone stores new credentials. Refused pairs are remembered by an HMAC
 * under a key that lives and dies with the process, never as the password.
 */
export const makeDexcomShareSessions = Effect.fnUntraced(function* (
  provider: ProviderId,
  settings: DexcomShareSettings,
  client: DexcomShareClient
) {
  const vault = yield* makeCredentialVault(provider, StoredCredentials, {
    what: "Dexcom Share credentials",
    reconnect: "connect the account"
  })
  const sessions = makeUserSessions<Session>(vault)
  // Logins of one account, one at a time whoever asks: a login that waited sees the refusal the one before it got.
  const withAccountLock = makeKeyedLock()
  const refusals = new Map<string, Refusal>()
  const mac = yield* Mac.Mac
  const fingerprintKey = yield* Effect.orDie(mac.generateKey(Mac.hmacSha256))

  const accountKey = (username: string) => username.trim().toLowerCase()
  const fingerprint = (credentials: StoredCredentials) =>
    mac
      .sign(fingerprintKey, encoder.encode(`${accountKey(credentials.username)}\u0000${credentials.password}`))
      .pipe(Effect.map(Hex.encode), Effect.orDie)

  const iso = (millis: number) => DateTime.formatIso(DateTime.makeUnsafe(millis)).replace(/\.\d{3}Z$/, "Z")

  /** Remembers that Share refused a login of this username, and fails with what that means. */
  const refuse = Effect.fnUntraced(function* (
    credentials: StoredCredentials,
    reason: Refusal["reason"],
    code: string
  ): Effect.fn.Return<never, LoginRefused> {
    const now = yield* Clock.currentTimeMillis
    for (const [key, refusal] of refusals) {
      if (refusal.untilMillis <= now && refusal.atMillis + REFUSALS_REMEMBERED_MILLIS <= now) refusals.delete(key)
    }
    const key = accountKey(credentials.username)
    const earlier = refusals.get(key)
    const inARow = earlier === undefined ? 1 : earlier.inARow + 1
    const locked = Duration.toMillis(settings.lockedAccountBackoff)
    const usernameWait =
      reason === "account_locked"
        ? locked
        : Math.min(Duration.toMillis(settings.refusedUsernameBackoff) * 2 ** (inARow - 1), locked)
    const pairWait = reason === "account_locked" ? locked : Duration.toMillis(settings.refusedCredentialsBackoff)
    refusals.set(key, {
      fingerprint: yield* fingerprint(credentials),
      reason,
      code,
      atMillis: now,
      untilMillis: now + usernameWait,
      pairUntilMillis: now + Math.max(usernameWait, pairWait),
      inARow
    })
    yield* Effect.logWarning("Dexcom Share refused a login: no login of this username is tried for a while").pipe(
      Effect.annotateLogs({ reason, code, inARow, notBefore: iso(now + usernameWait) })
    )
    return yield* new LoginRefused({
      reason,
      message:
        reason === "account_locked"
          ? `Dexcom Share locked the account after too many failed logins (${code}): no login is tried until the credentials are updated (the user may first have to wait, or unlock the account at Dexcom)`
          : `Dexcom Share refused the username or password (${code}): no login is tried until the credentials are updated`
    })
  })

  /**
   * Fails, without calling Share, while a refusal of this username holds: any password for a while after a
   * refusal, the refused password (and a locked account) for longer.
   */
  const guard = Effect.fnUntraced(function* (credentials: StoredCredentials) {
    const refusal = refusals.get(accountKey(credentials.username))
    if (refusal === undefined) return
    const now = yield* Clock.currentTimeMillis
    const samePassword = refusal.fingerprint === (yield* fingerprint(credentials))
    const until = samePassword ? refusal.pairUntilMillis : refusal.untilMillis
    if (now >= until) return
    return yield* new LoginRefused({
      reason: refusal.reason === "account_locked" ? "account_locked" : "recently_refused",
      message: samePassword
        ? `Dexcom Share refused these credentials at ${iso(refusal.atMillis)} (${refusal.code}): they are not tried again before ${iso(until)}; update the credentials`
        : `Dexcom Share refused a login of this username at ${iso(refusal.atMillis)} (${refusal.code}): to keep the account from being locked, no login of it is tried before ${iso(until)}, whatever the password`
    })
  })

  /** The id a login step answered, or the refusal it means (an all-zero id is Share's way of saying no). */
  const idFrom = Effect.fnUntraced(function* (
    step: "authenticate" | "login",
    answer: ShareAnswer,
    credentials: StoredCredentials
  ) {
    if (answer._tag === "Refused") {
      const meaning = classifyLoginRefusal(answer.code, answer.message)
      if (meaning === "unavailable") {
        return yield* new ProviderUnavailable({
          provider,
          message: `Dexcom Share could not log in (${answer.code}); the login is not repeated before the next sync`
        })
      }
      return yield* refuse(credentials, meaning, answer.code)
    }
    const id = decodeJsonString(answer.body)
    if (Option.isNone(id) || !UUID.test(id.value)) {
      return yield* new InvalidProviderResponse({
        provider,
        message: `Dexcom Share's ${step} answer is not an id`
      })
    }
    if (id.value === SHARE_NO_ID) return yield* refuse(credentials, "invalid_credentials", "all-zero id")
    return id.value
  })

  /** One login: the account id (unless known from an earlier login with these credentials), then a session. */
  const loginOnce = Effect.fnUntraced(function* (credentials: StoredCredentials, knownAccountId: string | null) {
    yield* guard(credentials)
    const accountId =
      knownAccountId ??
      (yield* idFrom(
        "authenticate",
        yield* client.send("authenticate", {
          body: {
            accountName: credentials.username,
            password: credentials.password,
            applicationId: settings.applicationId
          },
          retry: false
        }),
        credentials
      ))
    const sessionId = yield* idFrom(
      "login",
      yield* client.send("login", {
        body: { accountId, password: credentials.password, applicationId: settings.applicationId },
        retry: false
      }),
      credentials
    )
    refusals.delete(accountKey(credentials.username))
    return { accountId, sessionId }
  })

  /** A login, after any other login of the account has ended (so its guard sees that one's refusal). */
  const login = (credentials: StoredCredentials, knownAccountId: string | null) =>
    withAccountLock(accountKey(credentials.username), loginOnce(credentials, knownAccountId))

  const verify = Effect.fn("DexcomShareSessions.verify")(function* (userId: UserId, input: ProviderCredentials) {
    const credentials = { username: input.username.trim(), password: Redacted.value(input.password) }
    const { accountId, sessionId } = yield* login(credentials, null).pipe(
      Effect.catchTag("LoginRefused", (refused) =>
        Effect.fail(new CredentialsRejected({ provider, reason: refused.reason, message: refused.message }))
      )
    )
    const sealed = yield* vault.seal(userId, credentials)
    sessions.keep(userId, { sealed, accountId, sessionId })
    return sealed
  })

  const needsReauthorization = (message: string) => new NeedsReauthorization({ provider, message })

  const session = Effect.fn("DexcomShareSessions.session")(function* (userId: UserId, stale: string | null) {
    return yield* sessions.locked(
      userId,
      Effect.gen(function* () {
        const { sealed, kept } = yield* sessions.current(userId)
        if (kept !== undefined && kept.sessionId !== stale) return { sessionId: kept.sessionId, fresh: false }
        const credentials = yield* vault.open(userId, sealed)
        sessions.forget(userId)
        const opened = yield* login(credentials, kept?.accountId ?? null).pipe(
          Effect.catchTag("LoginRefused", (refused) => Effect.fail(needsReauthorization(refused.message)))
        )
        sessions.keep(userId, { sealed, ...opened })
        yield* Effect.logDebug("Dexcom Share session opened").pipe(Effect.annotateLogs({ userId }))
        return { sessionId: opened.sessionId, fresh: true }
      })
    )
  })

  return { verify, session } satisfies DexcomShareSessions
})
