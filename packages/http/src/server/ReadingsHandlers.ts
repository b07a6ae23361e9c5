import { makeWindow, ReadingStore } from "@bg-ingest/domain"
import { DateTime, Duration, Effect, Option, Result } from "effect"
import { HttpServerResponse } from "effect/http"
import { HttpApiBuilder } from "effect/http-api"
import { BgIngestApi } from "../api/Api.ts"
import { BadRequestProblem, NoReadings } from "../api/Problems.ts"
import { DEFAULT_RANGE_HOURS, MAX_RANGE_DAYS, MAX_RANGE_LIMIT } from "../api/ReadingsApi.ts"
import { toProblem } from "./DomainProblems.ts"
import { toReadingJson } from "./JsonMapping.ts"

const MAX_RANGE = Duration.days(MAX_RANGE_DAYS)

const invalidQuery = (field: "from" | "to", message: string) =>
  new BadRequestProblem({
    detail: `Invalid query parameter ${field}: ${message}`,
    errors: [{ path: ["query", field], message }]
  })

/**
 * The window of a range request: `to` defaults to now and `from` to 24 hours before `to`; `from` after `to`, or
 * more than 90 days before it, is the 400 problem the contract declares. Shared with the hot path (HotReads).
 */
export const rangeWindow = (
  query: { readonly from?: DateTime.Utc | undefined; readonly to?: DateTime.Utc | undefined },
  now: DateTime.Utc
): Result.Result<{ readonly from: DateTime.Utc; readonly to: DateTime.Utc }, BadRequestProblem> => {
  const to = query.to ?? now
  const from = query.from ?? DateTime.subtract(to, { hours: DEFAULT_RANGE_HOURS })
  if (DateTime.isGreaterThan(from, to)) return Result.fail(invalidQuery("from", "must not be after to"))
  if (Duration.isGreaterThan(DateTime.distance(from, to), MAX_RANGE)) {
    return Result.fail(
      invalidQuery(query.from === undefined ? "to" : "from", `from is more than ${MAX_RANGE_DAYS} days before to`)
    )
  }
  return Result.succeed({ from, to })
}

/**
 * Needs a `ReadingStore`.
 *
 * Reads are the service's hot path (bench/http.ts): they answer their rows serialized as they are, without
 * re-encoding every row through the success schema (which doubled the time of a 24-hour range). The rows are
 * `ReadingJson` by construction (`toReadingJson`), from readings validated before they were stored.
 */
export const ReadingsHandlers = HttpApiBuilder.group(
  BgIngestApi,
  "readings",
  Effect.fn(function* (handlers) {
    const store = yield* ReadingStore
    return handlers
      .handle("latest", ({ params }) =>
        store.latest(params.userId).pipe(
          Effect.catch(toProblem),
          Effect.flatMap(
            Option.match({
              onNone: () => Effect.fail(new NoReadings({ detail: `${params.userId} has no reading yet` })),
              onSome: (reading) => Effect.succeed(HttpServerResponse.jsonUnsafe(toReadingJson(reading)))
            })
          )
        )
      )
      .handle(
        "range",
        Effect.fnUntraced(function* ({ params, query }) {
          const window = rangeWindow(query, yield* DateTime.now)
          if (Result.isFailure(window)) return yield* window.failure
          const { from, to } = window.success
          const readings = yield* store
            .range(params.userId, makeWindow(from, to), query.limit ?? MAX_RANGE_LIMIT)
            .pipe(Effect.catch(toProblem))
          return HttpServerResponse.jsonUnsafe(readings.map(toReadingJson))
        })
      )
  })
)
