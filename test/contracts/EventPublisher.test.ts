import { InMemoryEventLog, InMemoryEventPublisher } from "@bg-ingest/adapters"
import { Effect } from "effect"
import { eventPublisherContract } from "./EventPublisherContract.ts"

eventPublisherContract("memory", {
  makeLayer: () => InMemoryEventPublisher.layer(),
  observedEventIds: () => InMemoryEventLog.use((log) => log.events).pipe(Effect.map((e) => e.map((x) => x.eventId)))
})
