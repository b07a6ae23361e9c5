import { Context, DateTime, Duration, Effect, Layer, Option, Schema } from "effect"
import { Digest, SecureRandom } from "effect/crypto"
import { Base64Url } from "effect/encoding"
import { type Connection, connectionNotFound, newConnection } from "../model/Connection.ts"
import { ProviderId, type UserId } from "../model/Identifiers.ts"
import { toWholeSeconds } from "../model/Reading.ts"
import {
  AuthorizationRejected,
  type CgmProviderShape,
  type ProviderAuthorization,
  type ProviderCredentials,
  type SiteAccess
} from "../ports/CgmProvider.ts"
import { CgmProviders } from "../ports/CgmProviders.ts"
import { ConnectionStore } from "../ports/ConnectionStore.ts"
import { OAuthStateStore } from "../ports/OAuthStateStore.ts"
import { ConnectSettings } from "../settings/UseCaseSettings.ts"
import {
  type AuthorizationStart,
  AuthorizationStateInvalid,
  type AuthorizeError,
  type CallbackParams,
  type CompleteError,
  type ConnectToSiteError,
  type ConnectWithCredentialsError,
  type CredentialsConnected,
  type DisconnectError,
  notConnectable
} from "./ConnectErrors.ts"

const STATE_BYTES = 32
const decodeProviderId = Schema.decodeUnknownOption(ProviderId)
const encoder = new TextEncoder()

/** Compares two strings without stopping at the first difference. */
const sameText = (a: string, b: string): boolean => {
  let difference = a.length ^ b.length
  for (let index = 0; index < Math.min(a.length, b.length); index++)
    difference |= a.charCodeAt(index) ^ b.charCodeAt(index)
  return difference === 0
}

/** Provider error codes are echoed in messages only in their documented shape, never as free text. */
const safeErrorCode = (error: string): string => (/^[a-z_]{1,64}$/.test(error) ? error : "unrecognized_error")

/**
 * Connecting a user to a provider that uses OAuth: `authorize` starts the flow with a `state` that is
 * unguessable (256 random bits), bound to the user and the provider, single-use and short-lived, kept in the
 * `OAuthStateStore` so that any replica can finish it, and a browser binding for the browser that starts it;
 * `complete` checks that the callback came back to that browser (or that an authenticated caller vouches for the
 * user), checks the state, exchanges the code and stores the connection (status active, backfill horizon set,
 * due now so the scheduler backfills it).
 * A provider without OAuth (Dexcom Share) is connected by `connectWithCredentials` instead: one login checks the
 * username and password, which are stored encrypted. A failed step stores nothing. `disconnect` ends either.
 */
export class Connect extends Context.Service<
  Connect,
  {
    readonly authorize: (userId: UserId, provider: string) => Effect.Effect<AuthorizationStart, AuthorizeError>
    readonly complete: (provider: string, params: CallbackParams) => Effect.Effect<Connection, CompleteError>
    /**
     * Connects a user to a provider that takes a username and password: one login at the provider checks them,
     * then the connection is stored with the credentials encrypted by the provider's adapter.
     */
    readonly connectWithCredentials: (
      userId: UserId,
      provider: string,
      credentials: ProviderCredentials
    ) => Effect.Effect<CredentialsConnected, ConnectWithCredentialsError>
    /**
     * Connects a user's own site of a self-hosted provider (Nightscout): one call checks that the service may use
     * the site and that the credential opens it, then the connection is stored with both encrypted by the adapter.
     */
    readonly connectToSite: (
      userId: UserId,
      provider: string,
      access: SiteAccess
    ) => Effect.Effect<CredentialsConnected, ConnectToSiteError>
    /**
     * Forgets the user's credentials and stops polling the connection; its readings and its cursor are kept, so
     * connecting again resumes where it stopped. Works whether or not the provider is still configured.
     */
    readonly disconnect: (userId: UserId, provider: string) => Effect.Effect<Connection, DisconnectError>
  }
>()("@bg-ingest/domain/Connect", {
  make: Effect.gen(function* () {
    const providers = yield* CgmProviders
    const connections = yield* ConnectionStore
    const states = yield* OAuthStateStore
    const random = yield* SecureRandom.SecureRandom
    const digest = yield* Digest.Digest

    const hashState = (state: string) => digest.digestHex(Digest.sha256, encoder.encode(state))
    // Derived from the state, so any replica can check it; only the browser that received it has it.
    const browserBindingOf = (state: string) =>
      digest.digestHex(Digest.sha256, encoder.encode(`bg-ingest/oauth-browser\u0000${state}`))

    const connectable = Effect.fnUntraced(function* (providerId: string) {
      const provider = yield* providers.get(providerId)
      if (provider.authorization === undefined) {
        return yield* notConnectable(
          "oauth",
          provider.id,
          provider.credentialsLogin !== undefined
            ? `${provider.id} connects with a username and password, not through OAuth`
            : provider.siteLogin !== undefined
              ? `${provider.id} connects with the address of the user's site, not through OAuth`
              : `${provider.id} needs no authorization: it cannot be connected through OAuth`
        )
      }
      return { provider, authorization: provider.authorization }
    })

    const authorize = Effect.fn("Connect.authorize")(function* (userId: UserId, providerId: string) {
      yield* Effect.annotateCurrentSpan({ userId, provider: providerId })
      const { provider, authorization } = yield* connectable(providerId)
      const { authorizationTtl } = yield* ConnectSettings
      const state = Base64Url.encode(yield* random.randomBytes(STATE_BYTES))
      const createdAt = yield* DateTime.now
      const expiresAt = DateTime.addDuration(createdAt, authorizationTtl)
      yield* states.put({ stateHash: yield* hashState(state), userId, provider: provider.id, createdAt, expiresAt })
      yield* Effect.logInfo("Authorization started").pipe(Effect.annotateLogs({ userId, provider: provider.id }))
      return { consentUrl: authorization.consentUrl(state), expiresAt, browserBinding: yield* browserBindingOf(state) }
    })

    const checkState = Effect.fnUntraced(function* (provider: ProviderId, params: CallbackParams) {
      const invalid = (reason: AuthorizationStateInvalid["reason"], message: string) =>
        new AuthorizationStateInvalid({ provider, reason, message })
      if (params.state === undefined || params.state === "") {
        return yield* invalid("missing", "The callback carries no state")
      }
      if (params.expectedUserId === undefined) {
        const expected = yield* browserBindingOf(params.state)
        if (params.browserBinding === undefined || !sameText(params.browserBinding, expected)) {
          return yield* invalid(
            "wrong_browser",
            "The authorization was not started in this browser (or its cookie expired): start again from the authorize link in this browser"
          )
        }
      }
      const found = yield* states.consume(yield* hashState(params.state))
      if (Option.isNone(found)) {
        return yield* invalid("unknown_or_used", "The authorization is unknown or was already used: start again")
      }
      const pending = found.value
      if (pending.provider !== provider) {
        return yield* invalid(
          "wrong_provider",
          `The authorization was started for ${pending.provider}, not ${provider}`
        )
      }
      if (params.expectedUserId !== undefined && params.expectedUserId !== pending.userId) {
        return yield* invalid("wrong_user", "The authorization was started by another user")
      }
      if (!DateTime.isLessThan(yield* DateTime.now, pending.expiresAt)) {
        return yield* invalid("expired", "The authorization expired before the consent page was finished: start again")
      }
      return pending
    })

    const exchange = Effect.fnUntraced(function* (
      provider: CgmProviderShape,
      authorization: ProviderAuthorization,
      userId: UserId,
      params: CallbackParams
    ) {
      if (params.error !== undefined && params.error !== "") {
        const code = safeErrorCode(params.error)
        return yield* code === "access_denied"
          ? new AuthorizationRejected({
              provider: provider.id,
              reason: "access_denied",
              message: `The user declined to share ${provider.id} data`
            })
          : new AuthorizationRejected({
              provider: provider.id,
              reason: "provider_error",
              message: `${provider.id} reported an authorization error: ${code}`
            })
      }
      if (params.code === undefined || params.code === "") {
        return yield* new AuthorizationRejected({
          provider: provider.id,
          reason: "missing_code",
          message: "The callback carries neither a code nor an error"
        })
      }
      return yield* authorization.exchangeCode(userId, params.code)
    })

    const complete = Effect.fn("Connect.complete")(function* (providerId: string, params: CallbackParams) {
      const { provider, authorization } = yield* connectable(providerId)
      const pending = yield* checkState(provider.id, params)
      const { userId } = pending
      yield* Effect.annotateCurrentSpan({ userId, provider: provider.id })
      const credentials = yield* exchange(provider, authorization, userId, params).pipe(
        Effect.tapError((error) =>
          Effect.logWarning("Authorization not completed").pipe(
            Effect.annotateLogs({ userId, provider: provider.id, error: error._tag, reason: error.message })
          )
        )
      )
      const { connection } = yield* store(provider, userId, credentials)
      return connection
    })

    /**
     * Stores the connection with fresh credentials: a new one is active and due at once, backfilling as far as
     * `ConnectSettings.backfill` and the provider's history allow; an existing one (re-authorized, reconnected,
     * credentials replaced) keeps its cursor, so only what was missed since is fetched, not the whole backfill.
     */
    const store = Effect.fnUntraced(function* (provider: CgmProviderShape, userId: UserId, credentials: string) {
      const now = yield* DateTime.now
      const { backfill } = yield* ConnectSettings
      const reach = Option.match(provider.limits.maxHistory, {
        onNone: () => backfill,
        onSome: (maxHistory) => Duration.min(backfill, maxHistory)
      })
      const existing = yield* connections.get(userId, provider.id)
      const connection: Connection = Option.match(existing, {
        onNone: () =>
          newConnection({
            userId,
            provider: provider.id,
            credentials,
            backfillFrom: toWholeSeconds(DateTime.subtractDuration(now, reach)),
            now
          }),
        onSome: (previous) => ({
          ...previous,
          status: "active",
          credentials,
          lastError: null,
          nextPollAt: now,
          consecutiveFailures: 0,
          updatedAt: now
        })
      })
      yield* connections.upsert(connection)
      yield* Effect.logInfo(Option.isSome(existing) ? "Connection re-authorized" : "Connection created").pipe(
        Effect.annotateLogs({
          userId,
          provider: provider.id,
          backfillFrom: DateTime.formatIso(connection.backfillFrom)
        })
      )
      return { connection, created: Option.isNone(existing) }
    })

    const otherWay = (provider: CgmProviderShape) =>
      provider.authorization !== undefined
        ? "through OAuth (its authorize endpoint)"
        : provider.credentialsLogin !== undefined
          ? "with a username and password"
          : provider.siteLogin !== undefined
            ? "with the address of the user's site"
            : undefined

    /**
     * A use case that connects with what the user gave (`given`, as messages name it), checked by the provider's
     * `verify` (none: the provider takes no such thing), then stored.
     */
    const connectingWith = <
      Way extends "credentials" | "site",
      Input,
      E extends { readonly _tag: string; readonly message: string }
    >(
      span: string,
      way: Way,
      given: string,
      verifyOf: (provider: CgmProviderShape) => ((userId: UserId, input: Input) => Effect.Effect<string, E>) | undefined
    ) =>
      Effect.fn(span)(function* (userId: UserId, providerId: string, input: Input) {
        yield* Effect.annotateCurrentSpan({ userId, provider: providerId })
        const provider = yield* providers.get(providerId)
        const verify = verifyOf(provider)
        if (verify === undefined) {
          const other = otherWay(provider)
          return yield* notConnectable(
            way,
            provider.id,
            other === undefined
              ? `${provider.id} needs no credentials: it cannot be connected with ${given}`
              : `${provider.id} connects ${other}, not with ${given}`
          )
        }
        const sealed = yield* verify(userId, input).pipe(
          Effect.tapError((error) =>
            Effect.logWarning("Credentials not accepted").pipe(
              Effect.annotateLogs({ userId, provider: provider.id, error: error._tag, reason: error.message })
            )
          )
        )
        return yield* store(provider, userId, sealed)
      })

    const connectWithCredentials = connectingWith(
      "Connect.connectWithCredentials",
      "credentials",
      "a username and password",
      (provider) => provider.credentialsLogin?.verify
    )

    const connectToSite = connectingWith(
      "Connect.connectToSite",
      "site",
      "a site address",
      (provider) => provider.siteLogin?.verify
    )

    const disconnect = Effect.fn("Connect.disconnect")(function* (userId: UserId, providerId: string) {
      yield* Effect.annotateCurrentSpan({ userId, provider: providerId })
      const provider = decodeProviderId(providerId)
      if (Option.isNone(provider)) return yield* connectionNotFound(userId, providerId)
      const updated = yield* connections.update(userId, provider.value, {
        status: "disconnected",
        credentials: null,
        nextPollAt: null,
        lastError: null,
        updatedAt: yield* DateTime.now
      })
      if (Option.isNone(updated)) return yield* connectionNotFound(userId, providerId)
      yield* Effect.logInfo("Connection disconnected").pipe(Effect.annotateLogs({ userId, provider: provider.value }))
      return updated.value
    })

    return { authorize, complete, connectWithCredentials, connectToSite, disconnect }
  })
}) {
  /**
   * Needs `CgmProviders`, a `ConnectionStore`, an `OAuthStateStore`, and `effect/crypto`'s `SecureRandom` and
   * `Digest`, whose implementation the composition root chooses.
   */
  static readonly layer = Layer.effect(this, this.make)
}
