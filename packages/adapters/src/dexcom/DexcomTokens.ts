import {
  AuthorizationRejected,
  ConnectionStore,
  InvalidProviderResponse,
  makeKeyedLock,
  NeedsReauthorization,
  type ProviderId,
  ProviderUnavailable,
  type RateLimited,
  type UserId
} from "@bg-ingest/domain"
import { Data, DateTime, Duration, Effect, Option, Redacted, Schema } from "effect"
import { HttpClientRequest } from "effect/http"
import { makeCredentialVault } from "../provider-credentials/CredentialVault.ts"
import type { DexcomClient } from "./DexcomClient.ts"
import { DexcomOAuthError, DexcomTokenResponse } from "./DexcomSchemas.ts"
import type { DexcomSettings } from "./DexcomSettings.ts"

/** What is sealed into `Connection.credentials`. */
const StoredTokens = Schema.Struct({
  accessToken: Schema.String,
  refreshToken: Schema.String,
  /** Epoch milliseconds. */
  accessTokenIssuedAt: Schema.Finite,
  accessTokenExpiresAt: Schema.Finite
})
type StoredTokens = typeof StoredTokens.Type
const decodeTokenResponse = Schema.decodeUnknownEffect(Schema.fromJsonString(DexcomTokenResponse))
const decodeOAuthError = Schema.decodeUnknownOption(Schema.fromJsonString(DexcomOAuthError))

/** Dexcom documents access tokens living two hours; used when an answer leaves `expires_in` out. */
const DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS = 7200

/** The token endpoint said no (RFC 6749 §5.2 error code, or `unknown` when the body is not one). */
class TokenRefused extends Data.TaggedError("TokenRefused")<{ readonly error: string; readonly status: number }> {}

const safeCode = (code: string) => (/^[a-z_]{1,64}$/.test(code) ? code : "unknown")

export interface DexcomTokens {
  /** Exchanges an authorization code; answers the tokens sealed for `Connection.credentials`. Stores nothing. */
  readonly exchangeCode: (
    userId: UserId,
    code: string
  ) => Effect.Effect<string, AuthorizationRejected | ProviderUnavailable | InvalidProviderResponse | RateLimited>
  /** A usable access token, renewed first when it has less than `refreshBefore` left. */
  readonly accessToken: (userId: UserId) => Effect.Effect<string, TokenError>
  /** After Dexcom refused `rejected` (401): a renewed token, or the one another caller renewed meanwhile. */
  readonly renewRejected: (userId: UserId, rejected: string) => Effect.Effect<string, TokenError>
}

type TokenError = NeedsReauthorization | RateLimited | ProviderUnavailable | InvalidProviderResponse

/**
 * The token lifecycle of Dexcom connections. Refresh tokens rotate (the old one dies), so: at most one renewal
 * per user at a time in this process (a keyed lock, re-checking the stored tokens once inside it); the new pair
 * is stored before the new access token is used; when storing fails the pair is held in memory and stored
 * before anything else next time; `invalid_grant` means the user must connect again (unless another replica
 * rotated the token meanwhile, which the stored tokens show), never a retry loop.
 */
export const makeDexcomTokens = Effect.fnUntraced(function* (
  provider: ProviderId,
  settings: DexcomSettings,
  client: DexcomClient
) {
  const connections = yield* ConnectionStore
  const vault = yield* makeCredentialVault(provider, StoredTokens, {
    what: "Dexcom credentials",
    reconnect: "connect Dexcom"
  })
  const withUserLock = makeKeyedLock()
  const unsaved = new Map<UserId, StoredTokens>()

  const needsReauthorization = (message: string) => new NeedsReauthorization({ provider, message })
  const unavailable = (message: string) => new ProviderUnavailable({ provider, message })

  const requestTokens = Effect.fnUntraced(function* (grant: Record<string, string>) {
    const request = HttpClientRequest.post("/v2/oauth2/token").pipe(
      HttpClientRequest.acceptJson,
      HttpClientRequest.bodyUrlParams({
        client_id: settings.clientId,
        client_secret: Redacted.value(settings.clientSecret),
        ...grant
      })
    )
    const answer = yield* client.send("token", request)
    if (answer.status === 200) {
      return yield* decodeTokenResponse(answer.body).pipe(
        Effect.mapError(
          () =>
            new InvalidProviderResponse({
              provider,
              message: "Dexcom's token endpoint answered 200 without a readable token response"
            })
        )
      )
    }
    if (answer.status === 400 || answer.status === 401) {
      const body = decodeOAuthError(answer.body)
      return yield* new TokenRefused({
        status: answer.status,
        error: Option.match(body, { onNone: () => "unknown", onSome: (error) => safeCode(error.error) })
      })
    }
    return yield* new InvalidProviderResponse({
      provider,
      message: `Dexcom's token endpoint answered HTTP ${answer.status}`
    })
  })

  const refusedByConfiguration = (refused: TokenRefused) =>
    refused.error === "invalid_client" || refused.error === "unauthorized_client"
      ? unavailable(
          `Dexcom refused this application's credentials (${refused.error}): check DEXCOM_CLIENT_ID, DEXCOM_CLIENT_SECRET and DEXCOM_REDIRECT_URI`
        )
      : unavailable(`Dexcom refused the token request (HTTP ${refused.status}, ${refused.error})`)

  const toStored = Effect.fnUntraced(function* (response: DexcomTokenResponse, previousRefreshToken: string | null) {
    const now = yield* DateTime.now
    const refreshToken = response.refresh_token ?? previousRefreshToken
    if (refreshToken === null) {
      return yield* new InvalidProviderResponse({
        provider,
        message: "Dexcom issued no refresh token (was the offline_access scope granted?)"
      })
    }
    const lifetime = response.expires_in ?? DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS
    const issuedAt = DateTime.toEpochMillis(now)
    return {
      accessToken: response.access_token,
      refreshToken,
      accessTokenIssuedAt: issuedAt,
      accessTokenExpiresAt: issuedAt + Math.max(0, lifetime) * 1000
    } satisfies StoredTokens
  })

  const exchangeCode = Effect.fn("DexcomTokens.exchangeCode")(function* (userId: UserId, code: string) {
    const response = yield* requestTokens({
      grant_type: "authorization_code",
      code,
      redirect_uri: settings.redirectUri
    }).pipe(
      Effect.catchTag("TokenRefused", (refused) =>
        Effect.fail(
          refused.error === "invalid_grant"
            ? new AuthorizationRejected({
                provider,
                reason: "invalid_code",
                message: "Dexcom refused the authorization code (expired or already used): connect again"
              })
            : refusedByConfiguration(refused)
        )
      )
    )
    return yield* vault.seal(userId, yield* toStored(response, null))
  })

  /** Stores a renewed pair; fails when the connection is gone (disconnected meanwhile) or the store is down. */
  const persist = Effect.fnUntraced(function* (userId: UserId, tokens: StoredTokens) {
    const credentials = yield* vault.seal(userId, tokens)
    const updated = yield* connections.update(userId, provider, { credentials, updatedAt: yield* DateTime.now }).pipe(
      Effect.tapError(() => Effect.sync(() => unsaved.set(userId, tokens))),
      Effect.mapError(() => unavailable("Could not store renewed Dexcom tokens; they are kept to be stored next time"))
    )
    unsaved.delete(userId)
    if (Option.isNone(updated)) {
      return yield* needsReauthorization("The Dexcom connection was removed")
    }
    if (updated.value.status === "disconnected") {
      // The user disconnected while this renewal was in flight: forget the tokens again.
      yield* connections.update(userId, provider, { credentials: null }).pipe(Effect.ignore)
      return yield* needsReauthorization("The Dexcom connection was disconnected")
    }
  })

  const load = Effect.fnUntraced(function* (userId: UserId) {
    const pending = unsaved.get(userId)
    if (pending !== undefined) {
      yield* persist(userId, pending)
      return pending
    }
    return yield* vault.read(userId)
  })

  /** Usable until `refreshBefore` its expiry, or half its lifetime for tokens shorter than that margin. */
  const isFresh = Effect.fnUntraced(function* (tokens: StoredTokens) {
    const now = DateTime.toEpochMillis(yield* DateTime.now)
    const lifetime = tokens.accessTokenExpiresAt - tokens.accessTokenIssuedAt
    const margin = Math.min(Duration.toMillis(settings.refreshBefore), lifetime / 2)
    return tokens.accessTokenExpiresAt - now > margin
  })

  const refresh = Effect.fnUntraced(function* (
    userId: UserId,
    read: StoredTokens
  ): Effect.fn.Return<StoredTokens, TokenError> {
    let current = read
    for (let attempt = 0; ; attempt++) {
      const outcome = yield* requestTokens({ grant_type: "refresh_token", refresh_token: current.refreshToken }).pipe(
        Effect.map((response) => ({ _tag: "issued" as const, response })),
        Effect.catchTag("TokenRefused", (refused) =>
          refused.error === "invalid_grant"
            ? Effect.succeed({ _tag: "invalid_grant" as const })
            : Effect.fail(refusedByConfiguration(refused))
        )
      )
      if (outcome._tag === "issued") {
        const renewed = yield* toStored(outcome.response, current.refreshToken)
        yield* persist(userId, renewed)
        yield* Effect.logDebug("Dexcom tokens renewed").pipe(Effect.annotateLogs({ userId }))
        return renewed
      }
      // Another replica may have rotated the token after we read it: then the store holds the new pair.
      const latest = yield* load(userId)
      if (attempt === 0 && latest.refreshToken !== current.refreshToken) {
        if (yield* isFresh(latest)) return latest
        current = latest
        continue
      }
      yield* Effect.logWarning("Dexcom refused the refresh token: the user must connect Dexcom again").pipe(
        Effect.annotateLogs({ userId })
      )
      return yield* needsReauthorization(
        "Dexcom refused the refresh token (access revoked or expired): the user must connect Dexcom again"
      )
    }
  })

  /** Inside the user's lock: the stored tokens when `usable`, else a renewal. */
  const renewUnless = (userId: UserId, usable: (tokens: StoredTokens) => Effect.Effect<boolean>) =>
    withUserLock(
      userId,
      Effect.gen(function* () {
        const current = yield* load(userId)
        if (yield* usable(current)) return current.accessToken
        return (yield* refresh(userId, current)).accessToken
      })
    )

  const accessToken = Effect.fn("DexcomTokens.accessToken")(function* (userId: UserId) {
    const current = yield* load(userId)
    if (yield* isFresh(current)) return current.accessToken
    return yield* renewUnless(userId, isFresh)
  })

  const renewRejected = Effect.fn("DexcomTokens.renewRejected")(function* (userId: UserId, rejected: string) {
    return yield* renewUnless(userId, (tokens) =>
      tokens.accessToken === rejected ? Effect.succeed(false) : isFresh(tokens)
    )
  })

  return { exchangeCode, accessToken, renewRejected } satisfies DexcomTokens
})
