import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse, ProblemDetails } from "effect/http"
import { HttpApi } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"

interface KnownRoute {
  readonly method: string
  readonly pattern: RegExp
}

const toPattern = (path: string) =>
  new RegExp(
    `^${path
      .split("/")
      .map((segment) => (segment.startsWith(":") ? "[^/]+" : segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
      .join("/")}/?$`
  )

/** Every route the service answers: the API's endpoints plus the routes served beside it. */
export const knownRoutes = (extra: ReadonlyArray<{ readonly method: string; readonly path: string }>) => {
  const routes: Array<KnownRoute> = extra.map(({ method, path }) => ({ method, pattern: toPattern(path) }))
  HttpApi.reflect(BgIngestApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push({ method: endpoint.method, pattern: toPattern(endpoint.path) })
  })
  return routes
}

const problem = (status: 404 | 405, detail: string) =>
  ProblemDetails.toResponse({
    type: ProblemDetails.blankType,
    title: status === 404 ? "Not Found" : "Method Not Allowed",
    status,
    detail
  })

/**
 * Answers what no route matched: 405 with `Allow` when the path exists under other methods, else 404, both as
 * problem+json (the router's own answer is an empty 404).
 */
export const FallbackRoutes = (extra: ReadonlyArray<{ readonly method: string; readonly path: string }>) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const router = yield* HttpRouter.HttpRouter
      const routes = knownRoutes(extra)
      yield* router.add(
        "*",
        "/*",
        Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
          const path = request.url.split("?")[0] ?? "/"
          const allowed = [...new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method))]
          if (allowed.length === 0) return problem(404, `No route for ${request.method} ${path}`)
          if (allowed.includes("GET")) allowed.push("HEAD")
          return problem(405, `${request.method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`).pipe(
            HttpServerResponse.setHeader("allow", allowed.join(", "))
          )
        })
      )
    })
  )
