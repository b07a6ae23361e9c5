import { Effect } from "effect"

/**
 * Port methods on synchronous bodies (the SQLite and in-memory adapters), each call in a span named
 * `<adapter>.<operation>`, as every port call is.
 *
 * The span is `Effect.withSpan` without the call-site stack trace that `Effect.fn` captures on every call: these
 * are the read path's calls (a `latest` is about 35 µs of CPU per request, bench/http.ts), where `Effect.fn` costs
 * about 6 µs a call and this about 3. The span's name says where it comes from.
 */
const span = <A, E>(effect: Effect.Effect<A, E>, name: string) =>
  Effect.withSpan(effect, name, { captureStackTrace: false })

/** Methods whose body cannot fail (in-memory adapters). */
export const syncMethods =
  (adapter: string) =>
  <Args extends ReadonlyArray<unknown>, A>(operation: string, body: (...args: Args) => A) => {
    const name = `${adapter}.${operation}`
    return (...args: Args): Effect.Effect<A> =>
      span(
        Effect.sync(() => body(...args)),
        name
      )
  }

/** Methods whose body may throw (SQLite statements): a throw becomes the port's error through `failure`. */
export const tryMethods =
  <Operation extends string, E>(adapter: string, failure: (operation: Operation) => (cause: unknown) => E) =>
  <Args extends ReadonlyArray<unknown>, A>(operation: Operation, body: (...args: Args) => A) => {
    const name = `${adapter}.${operation}`
    const onThrow = failure(operation)
    return (...args: Args): Effect.Effect<A, E> => span(Effect.try({ try: () => body(...args), catch: onThrow }), name)
  }
