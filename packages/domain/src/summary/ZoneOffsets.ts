/**
 * The UTC offsets of a time zone over a span of time, found once per zone transition rather than once per reading:
 * the offset is sampled every six hours through `Intl` and, where two samples differ, the transition is found to the
 * second by bisection. A reading's local time is then its epoch seconds plus the offset of its segment.
 */

const HOUR = 3600

/** A zone's transitions are months apart, never within six hours of each other, so these samples see each one. */
const SAMPLE_SECONDS = 6 * HOUR

const OFFSET = /GMT(?:([+-])(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?)?/

const offsetReader = (timeZone: string) => {
  const format = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
  return (epochSeconds: number): number => {
    const match = OFFSET.exec(format.format(epochSeconds * 1000))
    if (match === null || match[1] === undefined) return 0
    const seconds = Number(match[2]) * HOUR + Number(match[3] ?? 0) * 60 + Number(match[4] ?? 0)
    return match[1] === "-" ? -seconds : seconds
  }
}

export interface ZoneOffsets {
  /** Segment starts in epoch seconds, ascending; `starts[0]` is the start of the span. */
  readonly starts: ReadonlyArray<number>
  /** The offset in seconds (local − UTC) from `starts[i]` until `starts[i + 1]`. */
  readonly offsets: ReadonlyArray<number>
}

/** The offsets of `timeZone` (a valid zone name) over `[fromSeconds, toSeconds]`. */
export const zoneOffsets = (timeZone: string, fromSeconds: number, toSeconds: number): ZoneOffsets => {
  const offsetAt = offsetReader(timeZone)
  const starts = [fromSeconds]
  const offsets = [offsetAt(fromSeconds)]
  let previous = fromSeconds
  while (previous < toSeconds) {
    const next = Math.min(previous + SAMPLE_SECONDS, toSeconds)
    const offset = offsetAt(next)
    if (offset !== offsets[offsets.length - 1]) {
      // The first second with the new offset lies in (previous, next].
      let low = previous
      let high = next
      while (high - low > 1) {
        const middle = Math.floor((low + high) / 2)
        if (offsetAt(middle) === offset) high = middle
        else low = middle
      }
      starts.push(high)
      offsets.push(offset)
    }
    previous = next
  }
  return { starts, offsets }
}

/**
 * Local seconds (epoch seconds + offset) for ascending instants: a cursor that moves forward through the segments,
 * so a sorted series costs one comparison per instant.
 */
export const localSecondsCursor = (zone: ZoneOffsets) => {
  let segment = 0
  const { starts, offsets } = zone
  return (epochSeconds: number): number => {
    if (epochSeconds < starts[segment]!) segment = 0
    while (segment + 1 < starts.length && epochSeconds >= starts[segment + 1]!) segment++
    return epochSeconds + offsets[segment]!
  }
}

/** The offset at any instant of the span (or the nearest end of it), by bisection over the segments. */
export const offsetAt = (zone: ZoneOffsets, epochSeconds: number): number => {
  const { starts, offsets } = zone
  let low = 0
  let high = starts.length - 1
  while (low < high) {
    const middle = Math.ceil((low + high) / 2)
    if (starts[middle]! <= epochSeconds) low = middle
    else high = middle - 1
  }
  return offsets[low]!
}
