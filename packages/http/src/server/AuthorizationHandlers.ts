import { Connect, formatInstant } from "@bg-ingest/domain"
import { Effect } from "effect"
import { HttpApiBuilder, HttpApiSchema } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { toProblem } from "./DomainProblems.ts"

/**
 * Connecting an account: `authorize` redirects to the provider's consent page, `callback` finishes. Needs
 * `Connect`. The code and the state are never logged (the request logger writes the path only).
 */
export const AuthorizationHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "authorization",
  Effect.fn(function* (handlers) {
    const connect = yield* Connect

    return handlers
      .handle("authorize", ({ params, query }) =>
        connect.authorize(query.user_id, params.provider).pipe(
          Effect.map(({ consentUrl }) =>
            HttpApiSchema.withHeaders({
              body: undefined,
              headers: { location: consentUrl, "cache-control": "no-store" }
            })
          ),
          Effect.catch(toProblem)
        )
      )
      .handle("callback", ({ params, query }) =>
        connect.complete(params.provider, { code: query.code, state: query.state, error: query.error }).pipe(
          Effect.map((connection) => ({
            provider: connection.provider,
            user_id: connection.userId,
            status: connection.status,
            backfill_from: formatInstant(connection.backfillFrom),
            next_poll_at: connection.nextPollAt === null ? null : formatInstant(connection.nextPollAt),
            message:
              connection.syncedThrough === null
                ? `${connection.provider} is connected: readings since ${formatInstant(connection.backfillFrom)} are being fetched`
                : `${connection.provider} is connected again: polling resumes from where it stopped`
          })),
          Effect.catch(toProblem)
        )
      )
  })
)
