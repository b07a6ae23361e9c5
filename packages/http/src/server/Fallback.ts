import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse, ProblemDetails } from "effect/http"
import { HttpApi } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"

interface KnownRoute {
  readonly method: string
  readonly segments: ReadonlyArray<string>
}

// Exact segments: the router serves canonical paths only, so neither is a trailing slash ignored here.
const splitPath = (path: string) => path.split("/")

const toRoute = (method: string, path: string): KnownRoute => ({ method, segments: splitPath(path) })

/** Whether `segments` fit the route: same length, same literal segments, any value for a `:param`. */
const fits = (route: KnownRoute, segments: ReadonlyArray<string>) =>
  route.segments.length === segments.length &&
  route.segments.every((segment, index) => segment.startsWith(":") || segment === segments[index])

/**
 * The route pattern a request fits, for metrics and logs: the route of its method, else one of another method
 * (a 405), else `/*`. Called on every request, so routes are grouped by their number of segments beforehand.
 */
export const makeRouteOf = (extra: ReadonlyArray<{ readonly method: string; readonly path: string }>) => {
  const byLength = new Map<number, Array<KnownRoute & { readonly pattern: string }>>()
  for (const route of knownRoutes(extra)) {
    const candidates = byLength.get(route.segments.length) ?? []
    candidates.push({ ...route, pattern: route.segments.join("/") })
    byLength.set(route.segments.length, candidates)
  }
  return (method: string, path: string): string => {
    const segments = splitPath(path)
    let other: string | undefined
    for (const route of byLength.get(segments.length) ?? []) {
      if (!fits(route, segments)) continue
      if (route.method === method || (method === "HEAD" && route.method === "GET")) return route.pattern
      other ??= route.pattern
    }
    return other ?? "/*"
  }
}

/** Every route the service answers: the API's endpoints plus the routes served beside it. */
export const knownRoutes = (extra: ReadonlyArray<{ readonly method: string; readonly path: string }>) => {
  const routes: Array<KnownRoute> = extra.map(({ method, path }) => toRoute(method, path))
  HttpApi.reflect(BgIngestApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => routes.push(toRoute(endpoint.method, endpoint.path))
  })
  return routes
}

const titles = { 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed" } as const

const problem = (status: keyof typeof titles, detail: string, extensions: Record<string, unknown> = {}) =>
  ProblemDetails.toResponse({ type: ProblemDetails.blankType, title: titles[status], status, detail, ...extensions })

/**
 * The methods the fallback answers. Not HEAD: the router answers a HEAD with the GET route of its path (Node sends
 * no body), and so a `*` fallback would answer every HEAD itself, with a 405.
 */
const FALLBACK_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const

/**
 * Answers what no route matched: 405 with `Allow` when the path exists under other methods, else 404, both as
 * problem+json (the router's own answer is an empty 404).
 */
export const FallbackRoutes = (extra: ReadonlyArray<{ readonly method: string; readonly path: string }>) =>
  Layer.effectDiscard(
    Effect.gen(function* () {
      const router = yield* HttpRouter.HttpRouter
      const routes = knownRoutes(extra)
      const answer = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
        const path = request.url.split("?")[0] ?? "/"
        const segments = splitPath(path)
        const matching = routes.filter((route) => fits(route, segments))
        const allowed = [...new Set(matching.map((route) => route.method))]
        // A path of a route of this very method that the router could not route (an undecodable parameter, say).
        if (allowed.length === 0 || allowed.includes(request.method)) {
          return problem(404, `No route for ${request.method} ${path}`)
        }
        if (allowed.includes("GET")) allowed.push("HEAD")
        return problem(405, `${request.method} is not allowed on ${path}; allowed: ${allowed.join(", ")}`).pipe(
          HttpServerResponse.setHeader("allow", allowed.join(", "))
        )
      })
      for (const method of FALLBACK_METHODS) yield* router.add(method, "/*", answer)
    })
  )
