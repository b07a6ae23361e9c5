import { ConnectionStore, ProviderId, Sync, type SyncError } from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Option, Schema } from "effect"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import {
  ConnectionNeedsAttention,
  ConnectionNotFoundProblem,
  type DependencyUnavailable,
  ProviderFailed,
  ProviderNotConfigured,
  ProviderRateLimited
} from "../api/Problems.ts"
import { dependencyUnavailable } from "./DependencyFailures.ts"
import { toConnectionJson, toSyncResultJson } from "./JsonMapping.ts"

type SyncProblem =
  | ProviderNotConfigured
  | ConnectionNotFoundProblem
  | ConnectionNeedsAttention
  | ProviderRateLimited
  | ProviderFailed
  | DependencyUnavailable

const syncProblem = (error: SyncError): Effect.Effect<never, SyncProblem> => {
  switch (error._tag) {
    case "UnknownProvider":
      return Effect.fail(new ProviderNotConfigured({ detail: error.message }))
    case "ConnectionNotFound":
      return Effect.fail(new ConnectionNotFoundProblem({ detail: error.message }))
    case "ConnectionNotPollable":
      return Effect.fail(new ConnectionNeedsAttention({ detail: error.message, connection_status: error.status }))
    case "NeedsReauthorization":
      return Effect.fail(
        new ConnectionNeedsAttention({
          detail: `The user must authorize ${error.provider} again: ${error.message}`,
          connection_status: "needs_reauthorization"
        })
      )
    case "RateLimited":
      return Effect.fail(
        new ProviderRateLimited({
          detail: error.message,
          retry_after_seconds: Math.ceil(Duration.toSeconds(error.retryAfter))
        })
      )
    case "ProviderUnavailable":
    case "InvalidProviderResponse":
      return Effect.fail(new ProviderFailed({ detail: error.message }))
    case "ReadingStoreError":
    case "ConnectionStoreError":
    case "EventPublishError":
      return dependencyUnavailable(error)
  }
}

const decodeProviderId = Schema.decodeUnknownOption(ProviderId)

/** Needs a `ConnectionStore` and `Sync`. */
export const ConnectionsHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "connections",
  Effect.fn(function* (handlers) {
    const connections = yield* ConnectionStore
    const sync = yield* Sync

    const connectionNotFound = (userId: string, provider: string) =>
      new ConnectionNotFoundProblem({ detail: `${userId} has no ${provider} connection` })

    return handlers
      .handle("list", ({ params }) =>
        connections.listForUser(params.userId).pipe(
          Effect.map((list) => list.map(toConnectionJson)),
          Effect.catchTag("ConnectionStoreError", dependencyUnavailable)
        )
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
          Effect.catch(syncProblem)
        )
      )
      .handle(
        "disconnect",
        Effect.fnUntraced(function* ({ params }) {
          const provider = decodeProviderId(params.provider)
          if (Option.isNone(provider)) return yield* connectionNotFound(params.userId, params.provider)
          const now = yield* DateTime.now
          const updated = yield* connections
            .update(params.userId, provider.value, {
              status: "disconnected",
              credentials: null,
              nextPollAt: null,
              lastError: null,
              updatedAt: now
            })
            .pipe(Effect.catchTag("ConnectionStoreError", dependencyUnavailable))
          if (Option.isNone(updated)) return yield* connectionNotFound(params.userId, params.provider)
          yield* Effect.logInfo("Connection disconnected", { userId: params.userId, provider: provider.value })
        })
      )
  })
)
