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

/**
 * Calls per fixed slot `[k·slotMillis, (k+1)·slotMillis)` of the epoch, in time order, for a budget counted in such
 * slots by the callers' clocks at the moment they take a call, which is a little before the call reaches the
 * provider: a call that reached the provider less than `lagMillis` into a slot may have been counted in the slot
 * before; when a slot holds more than `limit`, such calls are moved there while that one has room.
 */
export const callsPerSlot = (
  calls: ReadonlyArray<TimedCall>,
  slotMillis: number,
  { lagMillis, limit }: { readonly lagMillis: number; readonly limit: number }
): ReadonlyArray<{ readonly from: number; readonly calls: number; readonly movedBack: number }> => {
  const slots = new Map<number, { calls: number; early: number }>()
  for (const call of calls) {
    const from = Math.floor(call.startedAt / slotMillis) * slotMillis
    const slot = slots.get(from) ?? { calls: 0, early: 0 }
    slot.calls += 1
    if (call.startedAt - from < lagMillis) slot.early += 1
    slots.set(from, slot)
  }
  const ordered = [...slots].sort(([a], [b]) => a - b)
  const result: Array<{ from: number; calls: number; movedBack: number }> = []
  for (const [from, slot] of ordered) {
    const previous = result.at(-1)
    const room = previous !== undefined && previous.from === from - slotMillis ? Math.max(0, limit - previous.calls) : 0
    // Only what the slot holds beyond the limit is moved: the counts stay the fake's own wherever they fit.
    const moved = Math.min(room, slot.early, Math.max(0, slot.calls - limit))
    if (previous !== undefined && moved > 0) previous.calls += moved
    result.push({ from, calls: slot.calls - moved, movedBack: moved })
  }
  return result
}
