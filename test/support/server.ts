import { ApiRoutes, routerConfig } from "@bg-ingest/http/server"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer as L, type Layer } from "effect"
import { HttpClient, HttpClientRequest, HttpRouter } from "effect/http"

/**
 * The service's routes on a real Node server on an ephemeral loopback port, with an `HttpClient` aimed at it.
 * `core` provides the domain services the handlers need.
 */
export const testServer = <E, R>(core: Layer.Layer<R, E>) =>
  HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true, routerConfig }).pipe(
    L.provideMerge(NodeHttpServer.layerTest),
    L.provide(core)
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

export const get = (url: string) => read(HttpClientRequest.get(url))
export const post = (url: string) => read(HttpClientRequest.post(url))
export const del = (url: string) => read(HttpClientRequest.delete(url))
export const request = (method: "PUT" | "PATCH" | "DELETE" | "POST" | "GET", url: string) =>
  read(HttpClientRequest.make(method)(url))
