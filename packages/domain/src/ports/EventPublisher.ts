import { Context, type Effect, Schema } from "effect"
import type { ReadingEvent } from "../model/ReadingEvent.ts"
import { PortFailure } from "./PortFailure.ts"

export class EventPublishError extends Schema.TaggedError<EventPublishError>()("EventPublishError", {
  reason: Schema.Literals(["unavailable", "nacked", "timeout", "closed", "unroutable"]),
  ...PortFailure
}) {}

export interface EventPublisherShape {
  /**
   * Succeeds only when the broker has confirmed every event; otherwise some may or may not have arrived. An event
   * the adapter can never encode is set aside (logged, counted as `bg_ingest_set_aside_total`) and not published,
   * so that it never makes the others fail: its owed flag is cleared with the rest.
   */
  readonly publish: (events: ReadonlyArray<ReadingEvent>) => Effect.Effect<void, EventPublishError>
  /** Succeeds when the broker is reachable. */
  readonly ping: Effect.Effect<void, EventPublishError>
}

export class EventPublisher extends Context.Service<EventPublisher, EventPublisherShape>()(
  "@bg-ingest/domain/EventPublisher"
) {}
