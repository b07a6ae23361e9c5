import type {
  ConnectionStoreError,
  EventPublishError,
  NightscoutSiteStoreError,
  OAuthStateStoreError,
  ReadingStoreError
} from "@bg-ingest/domain"
import { Effect } from "effect"
import { DependencyUnavailable } from "../api/Problems.ts"

/**
 * A store or broker failure answers 503 (the caller may retry) and is logged with its message, which names the
 * operation and never carries request data.
 */
export const dependencyUnavailable = (
  error: ReadingStoreError | ConnectionStoreError | EventPublishError | OAuthStateStoreError | NightscoutSiteStoreError
) => {
  const dependency = error._tag === "EventPublishError" ? "broker" : "store"
  return Effect.logError("Dependency unavailable", { dependency, reason: error.message }).pipe(
    Effect.andThen(
      Effect.fail(
        new DependencyUnavailable({
          dependency,
          detail:
            dependency === "store"
              ? "The reading store is unavailable; retry later"
              : "The event broker is unavailable; retry later"
        })
      )
    )
  )
}
