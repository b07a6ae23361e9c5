import {
  ApiKeys,
  ApiRoutes,
  BodyLimit,
  HotReads,
  routerConfig,
  ServerPolicy,
  WebhookConfig,
  type WebhookFormat
} from "@bg-ingest/http/server"
import { observedHttpServer } from "@bg-ingest/runner"
import { Effect, Layer as L, type Layer, Redacted } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpRouter, HttpServer } from "effect/http"
import { testCrypto } from "./crypto.ts"

export const TEST_WEBHOOK_SECRET = "test-webhook-secret-0123456789"

/** A Node server on an ephemeral loopback port, observed as the service's is, with an `HttpClient` aimed at it. */
export const observedTestServer = HttpServer.layerTestClient.pipe(
  L.provide(
    L.fresh(FetchHttpClient.layer).pipe(L.provide(L.succeed(FetchHttpClient.RequestInit)({ keepalive: false })))
  ),
  L.provideMerge(observedHttpServer({ port: 0, host: "127.0.0.1" }))
)

/**
 * The service's routes on a real Node server on an ephemeral loopback port, with an `HttpClient` aimed at it.
 * `core` provides the domain services the handlers need. As the service does (App.ts), the hot reads are answered
 * at the server's edge when plainly valid (`HotReads`); `hotReads: false` leaves every request to the router.
 */
export const testServer = <E, R>(
  core: Layer.Layer<R, E>,
  webhook: { readonly secrets?: ReadonlyArray<string>; readonly formats?: ReadonlyArray<WebhookFormat> } = {},
  apiKeys: ReadonlyArray<string> = [],
  options: { readonly hotReads?: boolean } = {}
) =>
  HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true, routerConfig }).pipe(
    L.provideMerge(
      options.hotReads === false ? observedTestServer : observedTestServer.pipe(L.provide(HotReads.layer))
    ),
    L.provide(BodyLimit),
    L.provide(core),
    L.provide(
      L.succeed(WebhookConfig, {
        secrets: (webhook.secrets ?? [TEST_WEBHOOK_SECRET]).map((secret) => Redacted.make(secret)),
        formats: webhook.formats ?? []
      })
    ),
    L.provide(ApiKeys.layer(apiKeys.map((key) => Redacted.make(key)))),
    L.provide(L.succeed(ServerPolicy, { secureCookies: false })),
    L.provide(testCrypto)
  )

export interface Answer {
  readonly status: number
  readonly contentType: string
  readonly headers: Readonly<Record<string, string>>
  readonly body: any
}

const read = (request: HttpClientRequest.HttpClientRequest) =>
  Effect.gen(function* () {
    const client = yield* HttpClient.HttpClient
    const response = yield* client.execute(request)
    const text = yield* response.text
    const contentType = response.headers["content-type"] ?? ""
    return {
      status: response.status,
      contentType,
      headers: response.headers,
      body: contentType.includes("json") && text !== "" ? JSON.parse(text) : text
    } satisfies Answer
  })

export const get = (url: string, headers: Record<string, string> = {}) =>
  read(HttpClientRequest.get(url).pipe(HttpClientRequest.setHeaders(headers)))
export const post = (url: string, headers: Record<string, string> = {}) =>
  read(HttpClientRequest.post(url).pipe(HttpClientRequest.setHeaders(headers)))
export const del = (url: string, headers: Record<string, string> = {}) =>
  read(HttpClientRequest.delete(url).pipe(HttpClientRequest.setHeaders(headers)))
export const request = (method: "PUT" | "PATCH" | "DELETE" | "POST" | "GET", url: string) =>
  read(HttpClientRequest.make(method)(url))

/** PUTs a JSON document (or, given a string, those exact characters as JSON). */
export const putJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  read(
    HttpClientRequest.put(url).pipe(
      HttpClientRequest.bodyText(typeof body === "string" ? body : JSON.stringify(body), "application/json"),
      HttpClientRequest.setHeaders(headers)
    )
  )

/** POSTs raw bytes with the given headers, as a webhook sender would. */
export const postRaw = (url: string, body: Uint8Array, headers: Record<string, string>) =>
  read(
    HttpClientRequest.post(url).pipe(
      HttpClientRequest.bodyUint8Array(body, headers["content-type"] ?? "application/json"),
      HttpClientRequest.setHeaders(headers)
    )
  )
