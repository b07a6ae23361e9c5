import { Connect, ConnectionStore, Sync } from "@bg-ingest/domain"
import { Clock, Effect, Result, Schema } from "effect"
import { Digest } from "effect/crypto"
import { Hex } from "effect/encoding"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { CredentialsJson, SiteAccessJson, siteAccessOf } from "../api/Json.ts"
import { BadRequestProblem, TooManyAttempts, UnsupportedMediaType } from "../api/Problems.ts"
import { ApiKeys, bearerKey } from "./ApiKeyAuthLive.ts"
import { toProblem } from "./DomainProblems.ts"
import { toConnectionJson, toSyncResultJson } from "./JsonMapping.ts"
import { badRequestFromIssue } from "./ProblemDetails.ts"
import { RateLimiter } from "./RateLimiter.ts"
import { isJsonMediaType, readBodyBytes } from "./RequestBody.ts"
import { SERVER_LIMITS } from "./ServerLimits.ts"

const decodeConnectBody = Schema.decodeUnknownResult(Schema.Union([CredentialsJson, SiteAccessJson]), { errors: "all" })

/**
 * Checks of a username and password cost a login at the provider, and a few failed logins lock an account there:
 * at most 5 attempts per user and 60 per API key (or per process without keys) every 15 minutes.
 */
export const CREDENTIAL_ATTEMPTS = { perUser: 5, perKey: 60, windowMillis: 15 * 60_000 } as const

const encoder = new TextEncoder()

/** Needs a `ConnectionStore`, `Sync`, `Connect` and `ApiKeys`. */
export const ConnectionsHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "connections",
  Effect.fn(function* (handlers) {
    const connections = yield* ConnectionStore
    const sync = yield* Sync
    const connect = yield* Connect
    const perUser = new RateLimiter({
      limit: CREDENTIAL_ATTEMPTS.perUser,
      windowMillis: CREDENTIAL_ATTEMPTS.windowMillis
    })
    const perKey = new RateLimiter({
      limit: CREDENTIAL_ATTEMPTS.perKey,
      windowMillis: CREDENTIAL_ATTEMPTS.windowMillis
    })

    const digest = yield* Digest.Digest
    const { digests } = yield* ApiKeys
    /**
     * Who is asking: the key the request was let in with, by a digest (never the key itself), read as the key check
     * reads it (the scheme in any case, any spaces), so that one key written two ways is one caller. Without API
     * keys nothing identifies a caller: the process is one.
     */
    const callerOf = (authorization: string | undefined) => {
      const key = digests.length === 0 ? undefined : bearerKey(authorization)
      return key === undefined
        ? Effect.succeed("anonymous")
        : Effect.map(digest.digest(Digest.sha256, encoder.encode(key)), Hex.encode)
    }

    const throttle = Effect.fnUntraced(function* (userId: string, authorization: string | undefined) {
      const now = yield* Clock.currentTimeMillis
      const wait = perKey.take(yield* callerOf(authorization), now) ?? perUser.take(userId, now)
      if (wait === undefined) return
      yield* Effect.logWarning("Credential attempts refused: too many", { userId })
      return yield* new TooManyAttempts({
        detail: "Too many credential attempts: they cost logins at the provider, which locks accounts; retry later",
        retry_after_seconds: Math.max(1, Math.ceil(wait / 1000))
      })
    })

    return handlers
      .handle("list", ({ params }) =>
        connections.listForUser(params.userId).pipe(
          Effect.map((list) => list.map(toConnectionJson)),
          Effect.catch(toProblem)
        )
      )
      .handleRaw(
        "connect",
        // The body is read here, bounded while it streams (a body without a declared length included).
        Effect.fnUntraced(function* ({ params, request }) {
          const bytes = yield* readBodyBytes(request, SERVER_LIMITS.maxBodyBytes)
          if (!isJsonMediaType(request.headers["content-type"])) {
            return yield* new UnsupportedMediaType({ detail: "The body must be JSON (Content-Type: application/json)" })
          }
          const json = yield* Effect.try({
            try: () => JSON.parse(bytes.toString("utf8")) as unknown,
            catch: () => new BadRequestProblem({ detail: "The body is not valid JSON" })
          })
          const decoded = decodeConnectBody(json)
          if (Result.isFailure(decoded)) return yield* badRequestFromIssue("payload", decoded.failure.issue)
          const payload = decoded.success
          // A username and password, once well formed, cost a login at the provider, which locks accounts.
          if (!("url" in payload)) yield* throttle(params.userId, request.headers.authorization)
          const { connection, created } =
            "url" in payload
              ? yield* connect
                  .connectToSite(params.userId, params.provider, siteAccessOf(payload))
                  .pipe(Effect.catch(toProblem))
              : yield* connect
                  .connectWithCredentials(params.userId, params.provider, {
                    username: payload.username,
                    password: payload.password,
                    patientId: payload.patient_id
                  })
                  .pipe(Effect.catch(toProblem))
          const body = toConnectionJson(connection)
          // The target URI is the connection itself, so a 201 needs no Location.
          return created ? HttpServerResponse.jsonUnsafe(body, { status: 201 }) : body
        })
      )
      .handle("sync", ({ params }) =>
        sync.sync(params.userId, params.provider).pipe(
          Effect.tap((result) =>
            Effect.logInfo("Sync on request", {
              userId: params.userId,
              provider: result.provider,
              inserted: result.inserted,
              updated: result.updated
            })
          ),
          Effect.tapError((error) =>
            Effect.logWarning("Sync on request failed", {
              userId: params.userId,
              provider: params.provider,
              error: error._tag,
              reason: error.message
            })
          ),
          Effect.map(toSyncResultJson),
          Effect.catch(toProblem)
        )
      )
      .handle("disconnect", ({ params }) =>
        connect.disconnect(params.userId, params.provider).pipe(Effect.asVoid, Effect.catch(toProblem))
      )
  })
)
