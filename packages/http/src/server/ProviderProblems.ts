import type { InvalidProviderResponse, ProviderUnavailable, RateLimited } from "@bg-ingest/domain"
import { Duration, Effect } from "effect"
import { ProviderFailed, ProviderRateLimited } from "../api/Problems.ts"

/** A provider call that failed: 429 with when to retry when it rate-limited us, else 502. */
export const providerFailure = (
  error: RateLimited | ProviderUnavailable | InvalidProviderResponse
): Effect.Effect<never, ProviderRateLimited | ProviderFailed> =>
  error._tag === "RateLimited"
    ? Effect.fail(
        new ProviderRateLimited({
          detail: error.message,
          retry_after_seconds: Math.ceil(Duration.toSeconds(error.retryAfter))
        })
      )
    : Effect.fail(new ProviderFailed({ detail: error.message }))
