import { Connect, ConnectionStore, Sync } from "@bg-ingest/domain"
import { Effect } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { siteAccessOf } from "../api/Json.ts"
import { toProblem } from "./DomainProblems.ts"
import { toConnectionJson, toSyncResultJson } from "./JsonMapping.ts"

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
      .handle(
        "connect",
        Effect.fnUntraced(function* ({ params, payload }) {
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
