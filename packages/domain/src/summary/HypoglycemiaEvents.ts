/** An event needs this long below the threshold to start, and this long at or above it to end. */
export const HYPOGLYCEMIA_EVENT_SECONDS = 15 * 60

/**
 * Counts hypoglycemia events below `threshold` mg/dL in a series sorted by time (`seconds` ascending, `values` the
 * glucose of each instant), sampled every `interval` seconds:
 * - an event starts when a run of consecutive readings below the threshold lasts at least 15 minutes, its duration
 *   being `last − first + interval`;
 * - it ends when a run of consecutive readings at or above the threshold lasts at least 15 minutes;
 * - readings further apart than `2 · interval` are not consecutive: the gap breaks the run it falls in, and an
 *   event is such a run, so a gap ends an event in progress (nothing is known of the glucose in between); after
 *   the gap a new event needs its own 15 minutes below the threshold.
 */
export const countHypoglycemiaEvents = (
  seconds: ArrayLike<number>,
  values: ArrayLike<number>,
  count: number,
  interval: number,
  threshold: number
): number => {
  const maxGap = 2 * interval
  const needed = HYPOGLYCEMIA_EVENT_SECONDS - interval
  let events = 0
  let inEvent = false
  // The first reading of the current run: below the threshold outside an event, at or above it inside one.
  let runStart = -1
  for (let i = 0; i < count; i++) {
    const at = seconds[i]!
    const below = values[i]! < threshold
    if (i > 0 && at - seconds[i - 1]! > maxGap) {
      inEvent = false
      runStart = -1
    }
    const continues = runStart >= 0
    if (below !== inEvent) {
      if (!continues) runStart = i
      if (at - seconds[runStart]! >= needed) {
        inEvent = !inEvent
        if (inEvent) events++
        runStart = -1
      }
    } else {
      runStart = -1
    }
  }
  return events
}
