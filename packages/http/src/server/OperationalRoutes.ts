import { Effect, Layer, Metric } from "effect"
import { Digest } from "effect/crypto"
import { Base64 } from "effect/encoding"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { OpenApi } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { Unauthorized } from "../api/ApiKeyAuth.ts"
import { ApiKeys, apiKeyFailures, presentsKnownKey } from "./ApiKeyAuthLive.ts"

/**
 * Runs `answer` when the request presents an accepted API key, or when no keys are configured (development);
 * otherwise a 401 problem. For the routes served beside the API groups: `/metrics`, `/docs`, `/openapi.json`.
 */
export const refuseWithoutKey = <E, R>(
  digests: ReadonlyArray<Uint8Array>,
  request: HttpServerRequest.HttpServerRequest,
  answer: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>
): Effect.Effect<HttpServerResponse.HttpServerResponse, E, R | Digest.Digest> => {
  if (digests.length === 0) return answer
  return Effect.flatMap(presentsKnownKey(digests, request.headers.authorization), (known) => {
    if (known) return answer
    const detail =
      request.headers.authorization === undefined
        ? "An API key is required: Authorization: Bearer <key>"
        : "The API key is not valid"
    return Metric.update(apiKeyFailures, 1).pipe(
      Effect.andThen(HttpServerResponse.json(new Unauthorized({ detail }), { status: 401 })),
      Effect.map(
        HttpServerResponse.setHeaders({ "content-type": "application/problem+json", "www-authenticate": "Bearer" })
      ),
      Effect.orDie
    )
  })
}

const sha256Source = (digest: Digest.Digest["Service"], text: string) =>
  Effect.map(digest.digest(Digest.sha256, new TextEncoder().encode(text)), (hash) => `'sha256-${Base64.encode(hash)}'`)

const escapeJson = (value: unknown) =>
  JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/[\u2028\u2029]/g, (c) => (c === "\u2028" ? "\\u2028" : "\\u2029"))

/**
 * The interactive docs page: the Scalar bundle that ships inside `effect` (inline, nothing fetched from elsewhere),
 * its default fonts off, and a Content-Security-Policy that lets only these two scripts run and the page talk to
 * nothing but this service.
 */
const docsPage = Effect.fnUntraced(function* (javascript: string, spec: OpenApi.OpenAPISpec) {
  const digest = yield* Digest.Digest
  const boot =
    "window.Scalar.createApiReference(document.getElementById('api-reference-container'), " +
    `${escapeJson({ _integration: "html", withDefaultFonts: false, telemetry: false, content: spec })})`
  const html = `<!doctype html>
<html>
  <head>
    <meta charset="utf-8" />
    <title>bg-ingest API</title>
    <meta name="viewport" content="width=device-width, initial-scale=1" />
  </head>
  <body>
    <div id="api-reference-container"></div>
    <script>${javascript}</script>
    <script>${boot}</script>
  </body>
</html>`
  const policy = [
    "default-src 'none'",
    `script-src ${yield* sha256Source(digest, javascript)} ${yield* sha256Source(digest, boot)}`,
    // The bundle injects its styles at run time.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
  return { html, policy }
})

/**
 * The Scalar bundle `effect` ships (what `HttpApiScalar` inlines), read from beside `effect/http-api`: the package
 * does not export it, and HttpApiScalar's page can be given neither headers nor an API key check.
 */
const scalarBundle = Effect.promise(
  () =>
    import(new URL("./internal/httpApiScalar.js", import.meta.resolve("effect/http-api")).href) as Promise<{
      readonly javascript: string
    }>
)

/**
 * `GET /openapi.json` and `GET /docs`, behind an API key whenever keys are configured (always in production).
 * Both are built once. Needs `ApiKeys` and a `Digest`.
 */
export const DocsRoutes = Layer.effectDiscard(
  Effect.gen(function* () {
    const router = yield* HttpRouter.HttpRouter
    const { digests } = yield* ApiKeys
    const spec = OpenApi.fromApi(BgIngestApi)
    const specJson = JSON.stringify(spec)
    const { javascript } = yield* scalarBundle

    const page = yield* docsPage(javascript, spec)
    yield* router.add("GET", "/openapi.json", (request) =>
      refuseWithoutKey(
        digests,
        request,
        Effect.succeed(HttpServerResponse.text(specJson, { contentType: "application/json" }))
      )
    )
    yield* router.add("GET", "/docs", (request) =>
      refuseWithoutKey(
        digests,
        request,
        Effect.succeed(
          HttpServerResponse.html(page.html).pipe(HttpServerResponse.setHeader("content-security-policy", page.policy))
        )
      )
    )
  })
)
