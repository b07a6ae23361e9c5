import { Effect, Metric } from "effect"
import type { ProviderError } from "../ports/CgmProvider.ts"

/** A Prometheus counter (`_total`): it only goes up. */
const counter = (name: string, description: string) => Metric.counter(name, { description, incremental: true })

/** What the use cases count. The runner exposes them at `/metrics` in Prometheus text. */
export const readingsIngested = counter(
  "bg_ingest_readings_ingested_total",
  "Readings stored, by what the write did (inserted, updated, unchanged)"
)

export const eventsPublished = counter("bg_ingest_events_published_total", "Events confirmed by the broker")

export const eventPublishFailures = counter(
  "bg_ingest_event_publish_failures_total",
  "Publish attempts that failed (the events stay owed and are published again)"
)

export const providerCalls = counter(
  "bg_ingest_provider_calls_total",
  "Reading fetches from providers, by provider and outcome"
)

export const budgetDeferrals = counter(
  "bg_ingest_budget_deferrals_total",
  "Syncs deferred because the provider's call budget, shared by all replicas, was spent (by provider)"
)

/** Counts a sync deferred for the shared call budget. */
export const countBudgetDeferral = (provider: string) =>
  Metric.update(Metric.withAttributes(budgetDeferrals, { provider }), 1)

export const setAside = counter(
  "bg_ingest_set_aside_total",
  "Readings, stored items and owed events that could not be processed and were set aside (each logged), by kind and place"
)

/** What was set aside: a reading refused before storage, a stored item that cannot be read, an owed event. */
export type SetAsideKind = "reading" | "stored_item" | "event"

/** Counts what was set aside; the caller logs it (without values, which may be health data). */
export const countSetAside = (kind: SetAsideKind, where: string, count = 1) =>
  count === 0 ? Effect.void : Metric.update(Metric.withAttributes(setAside, { kind, where }), count)

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
