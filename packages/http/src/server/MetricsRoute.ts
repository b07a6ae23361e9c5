import { ConnectionStore, newestReadingTimestamp } from "@bg-ingest/domain"
import { Clock, Effect, Layer, Metric } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { PrometheusMetrics } from "effect/observability"
import { RequestDurations } from "./RequestDurations.ts"

const connectionsByStatus = Metric.gauge("bg_ingest_connections", {
  description: "Provider connections by status"
})

const newestReadingAge = Metric.gauge("bg_ingest_newest_reading_age_seconds", {
  description: "Seconds since each user's newest reading stored by this process"
})

/**
 * Refreshes the gauges that are read at scrape time: connections by status (from the store) and the age of each
 * user's newest reading (from the timestamps `Ingest` keeps).
 */
const refreshScrapeGauges = Effect.gen(function* () {
  const connections = yield* ConnectionStore
  const counts = yield* connections.countByStatus.pipe(Effect.orElseSucceed(() => undefined))
  if (counts !== undefined) {
    for (const [status, count] of Object.entries(counts)) {
      yield* Metric.update(Metric.withAttributes(connectionsByStatus, { status }), count)
    }
  }
  const nowSeconds = (yield* Clock.currentTimeMillis) / 1000
  for (const snapshot of yield* Metric.snapshot) {
    if (snapshot.id !== newestReadingTimestamp.id || snapshot.type !== "Gauge" || snapshot.attributes === undefined) {
      continue
    }
    const age = nowSeconds - Number(snapshot.state.value)
    yield* Metric.update(Metric.withAttributes(newestReadingAge, snapshot.attributes), Math.max(0, Math.round(age)))
  }
})

/** `GET /metrics` in Prometheus text format. Needs a `ConnectionStore`. */
export const MetricsRoute = Layer.effectDiscard(
  Effect.gen(function* () {
    const router = yield* HttpRouter.HttpRouter
    const connections = yield* ConnectionStore
    const requestDurations = yield* RequestDurations
    yield* router.add(
      "GET",
      "/metrics",
      refreshScrapeGauges.pipe(
        Effect.provideService(ConnectionStore, connections),
        Effect.andThen(PrometheusMetrics.format()),
        Effect.map((text) => `${text}${text.endsWith("\n") || text === "" ? "" : "\n"}${requestDurations.render()}`),
        Effect.map((text) => HttpServerResponse.text(text, { contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      )
    )
  })
)
