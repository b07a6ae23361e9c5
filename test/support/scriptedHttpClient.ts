import { Clock, Effect, Layer } from "effect"
import { HttpClient, HttpClientError, type HttpClientRequest, HttpClientResponse } from "effect/http"

/** What the scripted server does with one request. */
export type Scripted =
  | { readonly status: number; readonly body?: string; readonly headers?: Record<string, string> }
  | { readonly reset: true }
  | { readonly hang: true }

export interface ScriptedCall {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string>>
  readonly atMillis: number
}

/**
 * An `HttpClient` that answers from a script, in order, and records when each request came (on the `Clock`,
 * so that backoff can be measured under `TestClock`). The last step repeats when the script runs out.
 */
export const scriptedHttpClient = (script: ReadonlyArray<Scripted>) => {
  const calls: Array<ScriptedCall> = []
  const client = HttpClient.make((request: HttpClientRequest.HttpClientRequest, url) =>
    Effect.gen(function* () {
      const step = script[Math.min(calls.length, script.length - 1)]!
      calls.push({
        method: request.method,
        url: url.toString(),
        headers: request.headers,
        atMillis: yield* Clock.currentTimeMillis
      })
      if ("reset" in step) {
        const cause = Object.assign(new TypeError("fetch failed"), { cause: { code: "ECONNRESET" } })
        return yield* new HttpClientError.HttpClientError({
          reason: new HttpClientError.TransportError({ request, cause })
        })
      }
      if ("hang" in step) return yield* Effect.never
      return HttpClientResponse.fromWeb(
        request,
        new Response(step.body ?? "{}", { status: step.status, headers: step.headers ?? {} })
      )
    })
  )
  return { calls, layer: Layer.succeed(HttpClient.HttpClient, client) }
}
