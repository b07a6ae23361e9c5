import { makeKeyedLock, makeWindow, type Reading, type TimeWindow, type UserId } from "@bg-ingest/domain"
import { DateTime, Effect, Metric, Semaphore } from "effect"

/**
 * Readings read per store call by a long read. Read at once, 50,000 to 129,600 readings held the event loop for
 * half a second to a second, during which no other request was answered; read in pieces, other requests are served
 * between them.
 */
export const READ_PIECE = 10_000

/**
 * Turns for expensive requests (long reads, summaries): one per user at a time and `concurrent` in the process,
 * the others waiting, counted in the gauge `waiting`. Each such request holds tens of MB while it runs: without
 * turns, one user asking many at once holds the memory of the process, and one user's queue cannot keep another's
 * request from its turn.
 */
export const makeTurns = (concurrent: number, waiting: Metric.Gauge<number>) => {
  const process = Semaphore.makeUnsafe(concurrent)
  const perUser = makeKeyedLock()
  return <A, E, R>(userId: UserId, work: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() => {
      let queued = true
      const started = Effect.suspend(() => {
        queued = false
        return Metric.modify(waiting, -1)
      })
      return Metric.modify(waiting, 1).pipe(
        Effect.andThen(perUser(userId, process.withPermit(Effect.andThen(started, work)))),
        Effect.ensuring(Effect.suspend(() => (queued ? Metric.modify(waiting, -1) : Effect.void)))
      )
    })
}

/**
 * Up to `limit` readings of a window in `order`, as one `range` call would answer them, read in pieces of
 * `READ_PIECE` with the event loop served between pieces. `read` is the store's `range`.
 */
export const readInPieces = Effect.fnUntraced(function* <E>(
  read: (
    window: TimeWindow,
    limit: number,
    order: "oldestFirst" | "newestFirst"
  ) => Effect.Effect<ReadonlyArray<Reading>, E>,
  window: TimeWindow,
  limit: number,
  order: "oldestFirst" | "newestFirst"
) {
  const readings: Array<Reading> = []
  let { from, to } = window
  while (readings.length < limit) {
    const want = Math.min(READ_PIECE, limit - readings.length)
    const piece = yield* read(makeWindow(from, to), want, order)
    for (const reading of piece) readings.push(reading)
    const last = piece.at(-1)
    if (piece.length < want || last === undefined) break
    // `from` is inclusive and `to` exclusive: the next piece starts just after (or ends at) the last one read.
    if (order === "oldestFirst") from = DateTime.add(last.timestamp, { milliseconds: 1 })
    else to = last.timestamp
    yield* Effect.yieldNow
  }
  return readings
})
