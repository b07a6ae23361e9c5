import { ConnectionStore, Ingest } from "@bg-ingest/domain"
import { Clock, Effect, Layer, Metric } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { ApiKeys } from "./ApiKeyAuthLive.ts"
import { refuseWithoutKey } from "./OperationalRoutes.ts"
import { RequestDurations } from "./RequestDurations.ts"

const connectionsByStatus = Metric.gauge("bg_ingest_connections", {
  description: "Provider connections by status"
})

const STALE_AFTER_SECONDS = [900, 3600, 3 * 3600, 24 * 3600]

const staleUsers = Metric.gauge("bg_ingest_stale_users", {
  description:
    "Users whose newest reading stored by this process is older than older_than_seconds (alert on data that stops)"
})

const usersWithReadings = Metric.gauge("bg_ingest_users_with_readings", {
  description: "Users with at least one reading stored by this process"
})

/**
 * Refreshes the gauges that are read at scrape time: connections by status (from the store) and freshness, as
 * counts of users whose newest reading is older than a few fixed ages. No series is per user: the series count
 * stays the same whatever the number of users.
 */
const refreshScrapeGauges = Effect.gen(function* () {
  const connections = yield* ConnectionStore
  const counts = yield* connections.countByStatus.pipe(Effect.orElseSucceed(() => undefined))
  if (counts !== undefined) {
    for (const [status, count] of Object.entries(counts)) {
      yield* Metric.update(Metric.withAttributes(connectionsByStatus, { status }), count)
    }
  }
  const newest = yield* (yield* Ingest).newestReadings
  const nowSeconds = (yield* Clock.currentTimeMillis) / 1000
  const stale = STALE_AFTER_SECONDS.map(() => 0)
  for (const at of newest) {
    const age = nowSeconds - at
    for (const [index, threshold] of STALE_AFTER_SECONDS.entries()) if (age > threshold) stale[index]! += 1
  }
  for (const [index, threshold] of STALE_AFTER_SECONDS.entries()) {
    yield* Metric.update(Metric.withAttributes(staleUsers, { older_than_seconds: String(threshold) }), stale[index]!)
  }
  yield* Metric.update(usersWithReadings, newest.length)
})

/**
 * `GET /metrics` in Prometheus text format, behind an API key whenever keys are configured (always in production):
 * scrape it with `authorization: { credentials: <key> }`. Needs a `ConnectionStore`, `Ingest` and `ApiKeys`.
 */
export const MetricsRoute = Layer.effectDiscard(
  Effect.gen(function* () {
    const router = yield* HttpRouter.HttpRouter
    const connections = yield* ConnectionStore
    const ingest = yield* Ingest
    const { digests } = yield* ApiKeys
    const requestDurations = yield* RequestDurations
    const render = refreshScrapeGauges.pipe(
      Effect.provideService(ConnectionStore, connections),
      Effect.provideService(Ingest, ingest),
      Effect.andThen(PrometheusMetrics.format()),
      Effect.map((text) => `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}${requestDurations.render()}`),
      Effect.map((text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
    )
    yield* router.add(
      "GET",
      "/metrics",
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => refuseWithoutKey(digests, request, render))
    )
  })
)
