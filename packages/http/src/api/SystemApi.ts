import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "effect/http-api"
import { HealthJson, ReadinessJson } from "./Json.ts"
import { NotReady } from "./Problems.ts"

export class SystemApi extends HttpApiGroup.make("system", { topLevel: true })
  .add(
    HttpApiEndpoint.get("health", "/health", { success: HealthJson }).annotateMerge(
      OpenApi.annotations({ summary: "Liveness: the process answers" })
    ),
    HttpApiEndpoint.get("ready", "/ready", { success: ReadinessJson, error: NotReady }).annotateMerge(
      OpenApi.annotations({ summary: "Readiness: the store and the broker are reachable (503 names the one down)" })
    )
  )
  .annotateMerge(OpenApi.annotations({ title: "System" })) {}
