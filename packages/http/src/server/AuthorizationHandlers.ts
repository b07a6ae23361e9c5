import { Connect, type Connection, formatInstant } from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Metric } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { Unauthorized } from "../api/ApiKeyAuth.ts"
import { OAUTH_BROWSER_COOKIE } from "../api/AuthorizationApi.ts"
import { ApiKeys, apiKeyFailures, presentsKnownKey } from "./ApiKeyAuthLive.ts"
import { toProblem } from "./DomainProblems.ts"
import { ServerPolicy } from "./ServerPolicy.ts"

const connectedJson = (connection: Connection) => ({
  provider: connection.provider,
  user_id: connection.userId,
  status: connection.status,
  backfill_from: formatInstant(connection.backfillFrom),
  next_poll_at: connection.nextPollAt === null ? null : formatInstant(connection.nextPollAt),
  message:
    connection.syncedThrough === null
      ? `${connection.provider} is connected: readings since ${formatInstant(connection.backfillFrom)} are being fetched`
      : `${connection.provider} is connected again: polling resumes from where it stopped`
})

/** The flow's cookie is sent back to the callback only, and never to scripts. */
const cookieOptions = (provider: string, secure: boolean) => ({
  path: `/api/connections/${provider}/callback`,
  httpOnly: true,
  secure,
  sameSite: "lax" as const
})

/**
 * Connecting an account: `authorize` redirects to the provider's consent page and gives the browser a cookie,
 * as short-lived as the authorization, that binds the flow to it; `callback` finishes, in that browser only (or
 * for an integrator's backend that names the user and holds an API key). Needs `Connect`, `ApiKeys` and the
 * `ServerPolicy`. The code, the state and the cookie are never logged (the request log has the route only).
 */
export const AuthorizationHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "authorization",
  Effect.fn(function* (handlers) {
    const connect = yield* Connect
    const { digests } = yield* ApiKeys
    const { secureCookies } = yield* ServerPolicy

    return handlers
      .handle("authorize", ({ params, query }) =>
        connect.authorize(query.user_id, params.provider).pipe(
          Effect.flatMap(({ consentUrl, expiresAt, browserBinding }) =>
            Effect.map(DateTime.now, (now) =>
              HttpServerResponse.empty({ status: 302 }).pipe(
                HttpServerResponse.setHeader("location", consentUrl),
                HttpServerResponse.setHeader("cache-control", "no-store"),
                HttpServerResponse.setCookieUnsafe(OAUTH_BROWSER_COOKIE, browserBinding, {
                  ...cookieOptions(params.provider, secureCookies),
                  maxAge: Duration.seconds(
                    Math.max(1, Math.floor(DateTime.distance(now, expiresAt).pipe(Duration.toSeconds)))
                  )
                })
              )
            )
          ),
          Effect.catch(toProblem)
        )
      )
      .handle(
        "callback",
        Effect.fnUntraced(function* ({ params, query, request }) {
          // An integrator's backend names the user instead of bringing the cookie: it vouches with its key.
          if (
            query.user_id !== undefined &&
            digests.length > 0 &&
            !(yield* presentsKnownKey(digests, request.headers.authorization))
          ) {
            yield* Metric.update(apiKeyFailures, 1)
            return yield* new Unauthorized({
              detail: "A callback that names user_id needs an API key: Authorization: Bearer <key>"
            })
          }
          const connection = yield* connect
            .complete(params.provider, {
              code: query.code,
              state: query.state,
              error: query.error,
              browserBinding: request.cookies[OAUTH_BROWSER_COOKIE],
              expectedUserId: query.user_id
            })
            .pipe(Effect.catch(toProblem))
          return HttpServerResponse.jsonUnsafe(connectedJson(connection)).pipe(
            HttpServerResponse.setHeader("cache-control", "no-store"),
            HttpServerResponse.expireCookieUnsafe(OAUTH_BROWSER_COOKIE, cookieOptions(params.provider, secureCookies))
          )
        })
      )
  })
)
