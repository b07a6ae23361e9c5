import { Context, Layer, type Redacted } from "effect"
import { FetchHttpClient, type HttpClient, HttpClientRequest } from "effect/http"
import { HttpApiClient, HttpApiMiddleware } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { ApiKeyAuth } from "../api/ApiKeyAuth.ts"

export interface BgIngestClientOptions {
  /** Where bg-ingest answers, e.g. `http://127.0.0.1:5001`. */
  readonly baseUrl: string | URL
  /** Sent as `Authorization: Bearer <key>` on the routes that need one; omit it when the server has no `API_KEYS`. */
  readonly apiKey?: string | Redacted.Redacted<string> | undefined
}

/**
 * The bearer key goes only to the endpoints guarded by `ApiKeyAuth`, so it never reaches the webhook or a route
 * that does not ask for it.
 */
const apiKeyLayer = (apiKey: string | Redacted.Redacted<string> | undefined) =>
  apiKey === undefined
    ? Layer.empty
    : HttpApiMiddleware.layerClient(ApiKeyAuth, ({ request, next }) =>
        next(HttpClientRequest.bearerToken(request, apiKey))
      )

/**
 * A typed client of the bg-ingest REST API, generated from the `BgIngestApi` contract: each endpoint is a method
 * (`client.readings.latest({ params: { userId } })`) whose success and errors (`NoReadings`, `BadRequestProblem`,
 * `Unauthorized`, ...) are decoded from the same schemas the server encodes them with.
 */
export class BgIngestClient extends Context.Service<BgIngestClient, HttpApiClient.ForApi<typeof BgIngestApi>>()(
  "@bg-ingest/http/BgIngestClient"
) {
  /** The client over an `HttpClient` you provide (with your own retries, tracing or transport). */
  static readonly layerNoDeps = (
    options: BgIngestClientOptions
  ): Layer.Layer<BgIngestClient, never, HttpClient.HttpClient> =>
    Layer.effect(BgIngestClient, HttpApiClient.make(BgIngestApi, { baseUrl: options.baseUrl })).pipe(
      Layer.provide(apiKeyLayer(options.apiKey))
    )

  /** The client over the platform's `fetch`. */
  static readonly layer = (options: BgIngestClientOptions): Layer.Layer<BgIngestClient> =>
    BgIngestClient.layerNoDeps(options).pipe(Layer.provide(FetchHttpClient.layer))
}
