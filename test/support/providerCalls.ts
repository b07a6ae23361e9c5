/**
 * What a fake provider's record of calls says about the clients that made them: calls of one user that
 * overlapped in time (two processes syncing the same connection at once), and the calls in every window of a
 * call budget (several processes together spending more than the provider allows).
 */

/** One call as a fake recorded it: who, when it arrived, when it was answered (epoch ms). */
export interface TimedCall {
  readonly username?: string | undefined
  readonly path: string
  readonly startedAt: number
  readonly finishedAt: number
  readonly via?: string | undefined
}

/** Two calls of one user, the second begun before the first was answered. */
export interface Overlap {
  readonly username: string
  readonly first: TimedCall
  readonly second: TimedCall
}

/** Every pair of calls of the same user that overlapped in time (the second one begun before the first ended). */
export const overlappingCalls = (calls: ReadonlyArray<TimedCall>): ReadonlyArray<Overlap> => {
  const byUser = new Map<string, Array<TimedCall>>()
  for (const call of calls) {
    if (call.username === undefined) continue
    const list = byUser.get(call.username) ?? []
    list.push(call)
    byUser.set(call.username, list)
  }
  const overlaps: Array<Overlap> = []
  for (const [username, list] of byUser) {
    const sorted = list.slice().sort((a, b) => a.startedAt - b.startedAt)
    // The call answered last among those begun so far: a call that starts before it ends overlaps it.
    let open: TimedCall | undefined
    for (const call of sorted) {
      if (open !== undefined && call.startedAt < open.finishedAt) overlaps.push({ username, first: open, second: call })
      if (open === undefined || call.finishedAt > open.finishedAt) open = call
    }
  }
  return overlaps
}

/** The most calls that began within any window of `windowMillis` (a sliding window), and where it starts. */
export const busiestWindow = (
  calls: ReadonlyArray<TimedCall>,
  windowMillis: number
): { readonly calls: number; readonly from: number } => {
  const starts = calls.map((call) => call.startedAt).sort((a, b) => a - b)
  let best = { calls: 0, from: starts[0] ?? 0 }
  let first = 0
  for (let last = 0; last < starts.length; last++) {
    while (starts[last]! - starts[first]! >= windowMillis) first += 1
    if (last - first + 1 > best.calls) best = { calls: last - first + 1, from: starts[first]! }
  }
  return best
}

/** Calls that began in each fixed window `[k·windowMillis, (k+1)·windowMillis)` of the epoch, busiest first. */
export const callsPerFixedWindow = (
  calls: ReadonlyArray<TimedCall>,
  windowMillis: number
): ReadonlyArray<{ readonly from: number; readonly calls: number }> => {
  const counts = new Map<number, number>()
  for (const call of calls) {
    const from = Math.floor(call.startedAt / windowMillis) * windowMillis
    counts.set(from, (counts.get(from) ?? 0) + 1)
  }
  return [...counts].map(([from, count]) => ({ from, calls: count })).sort((a, b) => b.calls - a.calls)
}
