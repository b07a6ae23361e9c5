import {
  InvalidProviderResponse,
  makeKeyedLock,
  type ProviderId,
  ProviderUnavailable,
  type RateLimited
} from "@bg-ingest/domain"
import { Clock, Data, DateTime, Duration, Effect, Option, Redacted, Schema } from "effect"
import { Digest, Mac } from "effect/crypto"
import { Hex } from "effect/encoding"
import { type LibreAnswer, type LibreLinkUpClient, lockOf } from "./LibreLinkUpClient.ts"
import {
  LibreCountryConfig,
  type LibreEnvelope,
  LibreLoginData,
  LibreRedirectData,
  LibreStepData
} from "./LibreLinkUpSchemas.ts"
import {
  isLibreLinkUpOrigin,
  isLibreLinkUpRegion,
  LIBRE_LINK_UP_REGIONS,
  type LibreLinkUpSettings
} from "./LibreLinkUpSettings.ts"

/** The login of a follower account, and the region it lives in when a login was redirected there. */
export interface LibreAccount {
  readonly username: string
  readonly password: string
  readonly region: string | null
}

/** A successful login: where the account's calls go, and what they carry. */
export interface LibreLoggedIn {
  readonly baseUrl: string
  /** The region the login was redirected to (null: the server it started at was the account's). */
  readonly region: string | null
  readonly token: Redacted.Redacted<string>
  readonly expiresAtMillis: number
  /** The follower's user id, whose SHA-256 is `account-id`. */
  readonly userId: string
  /** `account-id`: the SHA-256 hex digest of `userId`, sent on every authenticated call. */
  readonly accountId: string
}

/**
 * A login LibreLinkUp refused, or one not tried: `invalid_credentials` (status 2), `recently_refused` (the same
 * pair was refused a short while ago), `account_locked` (too many failed logins: nothing is tried before
 * `retryAfter`), `action_required` (status 4: the account holder must accept new terms, a privacy policy or verify
 * their email in the LibreLinkUp app; never done for them).
 */
export class LoginRefused extends Data.TaggedError("LoginRefused")<{
  readonly reason: "invalid_credentials" | "recently_refused" | "account_locked" | "action_required"
  readonly message: string
  readonly retryAfter: Duration.Duration | null
}> {}

export type LoginError = LoginRefused | RateLimited | ProviderUnavailable | InvalidProviderResponse

const encoder = new TextEncoder()

/** The key refusals and rate limits are kept under: one LibreLinkUp account, however its username is typed. */
export const libreAccountKey = (username: string) => username.trim().toLowerCase()

const decodeLogin = Schema.decodeUnknownOption(LibreLoginData)
const decodeRedirect = Schema.decodeUnknownOption(LibreRedirectData)
const decodeStep = Schema.decodeUnknownOption(LibreStepData)
const decodeCountryConfig = Schema.decodeUnknownOption(LibreCountryConfig)

const REGION_NAME = /^[a-z0-9]{1,12}$/

const STEP_TASKS: Readonly<Record<string, string>> = {
  tou: "accept the new terms of use",
  pp: "accept the new privacy policy",
  verifyEmail: "verify the account's email address"
}

/**
 * LibreLinkUp locks an account at its third failed login in a row: after this many refused passwords of one account,
 * no login of it is tried, whatever the password, until the refusals' backoff ends, so that nothing this service
 * does can be that third failure.
 */
export const REFUSED_PASSWORDS_BEFORE_HOLD = 2

interface Refusal {
  readonly fingerprints: ReadonlySet<string>
  readonly reason: "invalid_credentials" | "account_locked"
  readonly atMillis: number
  readonly untilMillis: number
}

const iso = (millis: number) => DateTime.formatIso(DateTime.makeUnsafe(millis)).replace(/\.\d{3}Z$/, "Z")

/**
 * Logins to LibreLinkUp. Failed logins lock the account (for the patient's family too), so a login is never
 * retried: one request, plus one at the account's region when the first answers a redirect (never a second
 * redirect). After LibreLinkUp refused a username and password, the same pair is not tried again for
 * `refusedCredentialsBackoff`, and after two refused passwords no password of that account is (the third failure
 * would lock it); after it locked an account, no login of it is tried before the lockout it announced
 * has passed (at least `lockedAccountBackoff`, doubling with each lockout in a row), whoever asks. Refused pairs
 * are remembered by an HMAC under a key that lives and dies with the process, never as the password. Needs
 * `effect/crypto`'s `Digest` and `Mac`.
 */
export const makeLibreLinkUpLogin = Effect.fnUntraced(function* (
  provider: ProviderId,
  settings: LibreLinkUpSettings,
  client: LibreLinkUpClient
) {
  const refusals = new Map<string, Refusal>()
  // Logins of one account, one at a time whoever asks: a login that waited sees the refusal the one before it got.
  const withAccountLock = makeKeyedLock()
  const lockStreaks = new Map<string, number>()
  const regionServers = new Map<string, string>()
  /** The region each account's last login ended in, so that the next login of it (a new connect) goes there. */
  const accountRegions = new Map<string, string>()
  const digest = yield* Digest.Digest
  const mac = yield* Mac.Mac
  const fingerprintKey = yield* Effect.orDie(mac.generateKey(Mac.hmacSha256))

  const fingerprint = (account: LibreAccount) =>
    mac
      .sign(fingerprintKey, encoder.encode(`${libreAccountKey(account.username)}\u0000${account.password}`))
      .pipe(Effect.map(Hex.encode), Effect.orDie)

  /** `account-id`: the SHA-256 hex digest (64 lower-case characters) of the follower's user id. */
  const accountIdOf = (userId: string) => digest.digestHex(Digest.sha256, encoder.encode(userId))

  const acceptableServer = (url: string) =>
    settings.allowAnyHost ? URL.canParse(url) && /^https?:$/.test(new URL(url).protocol) : isLibreLinkUpOrigin(url)

  /**
   * The server of a region: from the region map of the server logins start at (which also works for a test
   * server), else from the known hosts. Outside development only LibreView's https hosts are accepted.
   */
  const regionServer = Effect.fnUntraced(function* (region: string) {
    const known = regionServers.get(region)
    if (known !== undefined) return known
    const answer = yield* client
      .send({
        operation: "regions",
        baseUrl: settings.baseUrl,
        path: "/llu/config/country?country=DE",
        account: null,
        retry: true
      })
      .pipe(Effect.option)
    const mapped = Option.flatMap(answer, (found) =>
      Option.flatMap(found.envelope, (body) => decodeCountryConfig(body.data))
    )
    const lslApi = Option.flatMap(mapped, (config) =>
      Option.fromNullishOr(
        Object.entries(config.regionalMap).find(([name]) => name.toLowerCase() === region)?.[1].lslApi
      )
    )
    const fromMap = Option.map(lslApi, (url) => url.trim().replace(/\/+$/, ""))
    const server =
      Option.isSome(fromMap) && acceptableServer(fromMap.value)
        ? fromMap.value
        : isLibreLinkUpRegion(region)
          ? LIBRE_LINK_UP_REGIONS[region]
          : undefined
    if (server === undefined) {
      return yield* new ProviderUnavailable({
        provider,
        message: `LibreLinkUp sent the account to region "${region}", whose server is not known`
      })
    }
    regionServers.set(region, server)
    return server
  })

  /** Remembers that LibreLinkUp refused these credentials (or locked the account), and fails with what it means. */
  const refuse = Effect.fnUntraced(function* (
    account: LibreAccount,
    reason: "invalid_credentials" | "account_locked",
    lockoutSeconds: number | null
  ) {
    const now = yield* Clock.currentTimeMillis
    const key = libreAccountKey(account.username)
    for (const [other, refusal] of refusals) if (refusal.untilMillis <= now) refusals.delete(other)
    let backoff = settings.refusedCredentialsBackoff
    if (reason === "account_locked") {
      const streak = (lockStreaks.get(key) ?? 0) + 1
      lockStreaks.set(key, streak)
      const doubled = Duration.toMillis(settings.lockedAccountBackoff) * 2 ** Math.min(streak - 1, 20)
      const announced = (lockoutSeconds ?? 0) * 1000
      backoff = Duration.millis(
        Math.max(announced, Math.min(doubled, Duration.toMillis(settings.lockedAccountBackoffMax)))
      )
    }
    const earlier = refusals.get(key)
    const fingerprints = new Set(
      reason === "invalid_credentials" && earlier?.reason === reason ? earlier.fingerprints : []
    )
    fingerprints.add(yield* fingerprint(account))
    refusals.set(key, { fingerprints, reason, atMillis: now, untilMillis: now + Duration.toMillis(backoff) })
    yield* Effect.logWarning("LibreLinkUp refused a login: these credentials are not tried again for a while").pipe(
      Effect.annotateLogs({ reason, notBefore: Duration.format(backoff) })
    )
    return yield* reason === "account_locked"
      ? new LoginRefused({
          reason,
          retryAfter: backoff,
          message: `LibreLinkUp locked the account after too many failed logins${lockoutSeconds === null ? "" : ` (for ${lockoutSeconds} s)`}: no login is tried before ${iso(now + Duration.toMillis(backoff))}`
        })
      : new LoginRefused({
          reason,
          retryAfter: null,
          message:
            "LibreLinkUp refused the email or password (of the LibreLinkUp follower account, not the patient's LibreLink account): no login is tried until the credentials are updated"
        })
  })

  /** Fails, without calling LibreLinkUp, while the account is locked or these exact credentials were just refused. */
  const guard = Effect.fnUntraced(function* (account: LibreAccount) {
    const key = libreAccountKey(account.username)
    const refusal = refusals.get(key)
    if (refusal === undefined) return
    const now = yield* Clock.currentTimeMillis
    if (now >= refusal.untilMillis) {
      refusals.delete(key)
      return
    }
    if (refusal.reason === "account_locked") {
      return yield* new LoginRefused({
        reason: "account_locked",
        retryAfter: Duration.millis(refusal.untilMillis - now),
        message: `LibreLinkUp locked the account at ${iso(refusal.atMillis)} after too many failed logins: no login is tried before ${iso(refusal.untilMillis)}`
      })
    }
    if (refusal.fingerprints.size >= REFUSED_PASSWORDS_BEFORE_HOLD) {
      return yield* new LoginRefused({
        reason: "recently_refused",
        retryAfter: null,
        message: `LibreLinkUp refused ${refusal.fingerprints.size} passwords of this account in a row, and locks it at the third: no login of it is tried before ${iso(refusal.untilMillis)}, whatever the password`
      })
    }
    if (!refusal.fingerprints.has(yield* fingerprint(account))) return
    return yield* new LoginRefused({
      reason: "recently_refused",
      retryAfter: null,
      message: `LibreLinkUp refused these credentials at ${iso(refusal.atMillis)}: they are not tried again before ${iso(refusal.untilMillis)}; update the credentials`
    })
  })

  const actionRequired = (envelope: LibreEnvelope) => {
    const step = decodeStep(envelope.data)
    const type = Option.match(step, { onNone: () => undefined, onSome: (found) => found.step.type ?? undefined })
    const task = (type !== undefined && STEP_TASKS[type]) || "complete a step LibreLinkUp asks for"
    const named = type !== undefined && /^[A-Za-z]{1,32}$/.test(type) ? ` (${type})` : ""
    return new LoginRefused({
      reason: "action_required",
      retryAfter: null,
      message: `LibreLinkUp asks the account holder to ${task}${named} in the LibreLinkUp app before it lets this account in; bg-ingest never does it for them. Open the app, then connect again`
    })
  }

  /** What one login answer means: logged in, a redirect to follow, or a failure. */
  const interpret = Effect.fnUntraced(function* (account: LibreAccount, answer: LibreAnswer) {
    if (Option.isNone(answer.envelope)) {
      return yield* answer.httpStatus === 200
        ? new InvalidProviderResponse({ provider, message: "LibreLinkUp's login answer is not JSON" })
        : new ProviderUnavailable({ provider, message: `LibreLinkUp answered HTTP ${answer.httpStatus} to the login` })
    }
    const envelope = answer.envelope.value
    const lock = lockOf(envelope)
    if (Option.isSome(lock)) return yield* refuse(account, "account_locked", lock.value.lockoutSeconds)
    switch (envelope.status) {
      case 0: {
        const redirect = decodeRedirect(envelope.data)
        if (Option.isSome(redirect)) return { _tag: "Redirect", region: redirect.value.region.toLowerCase() } as const
        const loggedIn = decodeLogin(envelope.data)
        if (Option.isNone(loggedIn)) {
          return yield* new InvalidProviderResponse({
            provider,
            message: "LibreLinkUp's login answer has no user or ticket"
          })
        }
        return { _tag: "LoggedIn", data: loggedIn.value } as const
      }
      case 2:
        return yield* refuse(account, "invalid_credentials", null)
      case 4:
        return yield* actionRequired(envelope)
      default:
        // An unknown refusal is taken as a refusal: guessing "transient" would let the next sync try the same
        // password again, and a few of those lock the account.
        if (answer.httpStatus >= 400 && (envelope.status === null || envelope.status === undefined)) {
          return yield* new ProviderUnavailable({
            provider,
            message: `LibreLinkUp answered HTTP ${answer.httpStatus} to the login${envelope.message === "RequiredHeaderMissing" ? " (a required header is missing)" : ""}`
          })
        }
        return yield* refuse(account, "invalid_credentials", null)
    }
  })

  const post = (account: LibreAccount, baseUrl: string) =>
    client.send({
      operation: "login",
      baseUrl,
      path: "/llu/auth/login",
      body: { email: account.username, password: account.password },
      account: libreAccountKey(account.username),
      retry: false
    })

  /** One login, at the account's region when it is known; a redirect is followed once, never twice. */
  const loginOnce = Effect.fn("LibreLinkUpLogin.login")(function* (account: LibreAccount) {
    yield* guard(account)
    const key = libreAccountKey(account.username)
    let region = account.region ?? accountRegions.get(key) ?? null
    let baseUrl = region === null ? settings.baseUrl : yield* regionServer(region)
    let outcome = yield* interpret(account, yield* post(account, baseUrl))
    if (outcome._tag === "Redirect") {
      if (!REGION_NAME.test(outcome.region)) {
        return yield* new InvalidProviderResponse({
          provider,
          message: "LibreLinkUp redirected the login to an unreadable region"
        })
      }
      region = outcome.region
      baseUrl = yield* regionServer(region)
      outcome = yield* interpret(account, yield* post(account, baseUrl))
      if (outcome._tag === "Redirect") {
        return yield* new ProviderUnavailable({
          provider,
          message: `LibreLinkUp's region "${region}" redirected the login again (to "${outcome.region.slice(0, 12)}"): not followed`
        })
      }
    }
    refusals.delete(key)
    lockStreaks.delete(key)
    if (region === null) accountRegions.delete(key)
    else accountRegions.set(key, region)
    const { user, authTicket } = outcome.data
    return {
      baseUrl,
      region,
      token: Redacted.make(authTicket.token),
      expiresAtMillis: authTicket.expires * 1000,
      userId: user.id,
      accountId: yield* accountIdOf(user.id)
    } satisfies LibreLoggedIn
  })

  const login = (account: LibreAccount) => withAccountLock(libreAccountKey(account.username), loginOnce(account))

  return { login, regionServer, accountIdOf }
})

export type LibreLinkUpLogin = Effect.Success<ReturnType<typeof makeLibreLinkUpLogin>>
