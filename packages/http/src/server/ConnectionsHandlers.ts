import {
  Connect,
  ConnectionStore,
  type ConnectWithCredentialsError,
  ProviderId,
  Sync,
  type SyncError
} from "@bg-ingest/domain"
import { DateTime, Effect, Option, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import {
  ConnectionNeedsAttention,
  ConnectionNotFoundProblem,
  CredentialsRejectedProblem,
  type DependencyUnavailable,
  PatientChoiceRequiredProblem,
  type ProviderFailed,
  ProviderNotConfigured,
  type ProviderRateLimited,
  ProviderTakesNoCredentials
} from "../api/Problems.ts"
import { dependencyUnavailable } from "./DependencyFailures.ts"
import { toConnectionJson, toSyncResultJson } from "./JsonMapping.ts"
import { providerFailure } from "./ProviderProblems.ts"

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
    case "ProviderUnavailable":
    case "InvalidProviderResponse":
      return providerFailure(error)
    case "ReadingStoreError":
    case "ConnectionStoreError":
    case "EventPublishError":
      return dependencyUnavailable(error)
  }
}

type ConnectProblem =
  | CredentialsRejectedProblem
  | PatientChoiceRequiredProblem
  | ProviderTakesNoCredentials
  | ProviderNotConfigured
  | ProviderRateLimited
  | ProviderFailed
  | DependencyUnavailable

const connectProblem = (error: ConnectWithCredentialsError): Effect.Effect<never, ConnectProblem> => {
  switch (error._tag) {
    case "UnknownProvider":
      return Effect.fail(new ProviderNotConfigured({ detail: error.message }))
    case "ProviderNotConnectable":
      return Effect.fail(new ProviderTakesNoCredentials({ detail: error.message }))
    case "CredentialsRejected":
      return Effect.fail(new CredentialsRejectedProblem({ detail: error.message, reason: error.reason }))
    case "PatientChoiceRequired":
      return Effect.fail(
        new PatientChoiceRequiredProblem({
          detail: error.message,
          reason: error.reason,
          patients: error.patients.map((patient) => ({ patient_id: patient.patientId, name: patient.name }))
        })
      )
    case "RateLimited":
    case "ProviderUnavailable":
    case "InvalidProviderResponse":
      return providerFailure(error)
    case "ConnectionStoreError":
      return dependencyUnavailable(error)
  }
}

const decodeProviderId = Schema.decodeUnknownOption(ProviderId)

/** Needs a `ConnectionStore`, `Sync` and `Connect`. */
export const ConnectionsHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "connections",
  Effect.fn(function* (handlers) {
    const connections = yield* ConnectionStore
    const sync = yield* Sync
    const connect = yield* Connect

    const connectionNotFound = (userId: string, provider: string) =>
      new ConnectionNotFoundProblem({ detail: `${userId} has no ${provider} connection` })

    return handlers
      .handle("list", ({ params }) =>
        connections.listForUser(params.userId).pipe(
          Effect.map((list) => list.map(toConnectionJson)),
          Effect.catchTag("ConnectionStoreError", dependencyUnavailable)
        )
      )
      .handle(
        "connect",
        Effect.fnUntraced(function* ({ params, payload }) {
          const { connection, created } = yield* connect
            .connectWithCredentials(params.userId, params.provider, {
              username: payload.username,
              password: payload.password,
              patientId: payload.patient_id
            })
            .pipe(Effect.catch(connectProblem))
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
