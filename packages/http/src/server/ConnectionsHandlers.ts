import { Connect, ConnectionStore, Sync } from "@bg-ingest/domain"
import { Effect, Result, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { CredentialsJson } from "../api/Json.ts"
import { BadRequestProblem, UnsupportedMediaType } from "../api/Problems.ts"
import { toProblem } from "./DomainProblems.ts"
import { toConnectionJson, toSyncResultJson } from "./JsonMapping.ts"
import { badRequestFromIssue } from "./ProblemDetails.ts"
import { isJsonMediaType, readBodyBytes } from "./RequestBody.ts"
import { SERVER_LIMITS } from "./ServerLimits.ts"

const decodeCredentials = Schema.decodeUnknownResult(CredentialsJson, { errors: "all" })

/** Needs a `ConnectionStore`, `Sync` and `Connect`. */
export const ConnectionsHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "connections",
  Effect.fn(function* (handlers) {
    const connections = yield* ConnectionStore
    const sync = yield* Sync
    const connect = yield* Connect

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
          const payload = decodeCredentials(json)
          if (Result.isFailure(payload)) return yield* badRequestFromIssue("payload", payload.failure.issue)
          const { connection, created } = yield* connect
            .connectWithCredentials(params.userId, params.provider, payload.success)
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
