import { Effect, Metric } from "effect"
import type { ProviderError } from "../ports/CgmProvider.ts"

/** What the use cases count. The runner exposes them at `/metrics` in Prometheus text. */
export const readingsIngested = Metric.counter("bg_ingest_readings_ingested_total", {
  description: "Readings stored, by what the write did (inserted, updated, unchanged)",
  incremental: true
})

export const eventsPublished = Metric.counter("bg_ingest_events_published_total", {
  description: "Events confirmed by the broker",
  incremental: true
})

export const eventPublishFailures = Metric.counter("bg_ingest_event_publish_failures_total", {
  description: "Publish attempts that failed (the events stay owed and are published again)",
  incremental: true
})

export const providerCalls = Metric.counter("bg_ingest_provider_calls_total", {
  description: "Reading fetches from providers, by provider and outcome",
  incremental: true
})

export const newestReadingTimestamp = Metric.gauge("bg_ingest_newest_reading_timestamp_seconds", {
  description: "Unix time of each user's newest reading stored by this process"
})

export type ProviderCallOutcome = "ok" | "rate_limited" | "unavailable" | "invalid_response" | "needs_reauthorization"

export const outcomeOf = (error: ProviderError): ProviderCallOutcome => {
  switch (error._tag) {
    case "RateLimited":
      return "rate_limited"
    case "ProviderUnavailable":
      return "unavailable"
    case "InvalidProviderResponse":
      return "invalid_response"
    case "NeedsReauthorization":
      return "needs_reauthorization"
  }
}

export const countProviderCall = (provider: string, outcome: ProviderCallOutcome) =>
  Metric.update(Metric.withAttributes(providerCalls, { provider, outcome }), 1)

export const countIngested = (change: "inserted" | "updated" | "unchanged", count: number) =>
  count === 0 ? Effect.void : Metric.update(Metric.withAttributes(readingsIngested, { change }), count)
