import { DateTime } from "effect"
import { formatInstant } from "../model/Reading.ts"
import type { TimeWindow } from "../model/TimeWindow.ts"
import type { TimeZoneName } from "../model/TimeZone.ts"
import { type GlucosePoint, seriesOf } from "./GlycemicSummary.ts"
import { localSecondsCursor, offsetAt, zoneOffsets } from "./ZoneOffsets.ts"

const DAY = 86_400

export interface CurvePoint {
  /** Minutes since local midnight, with the seconds as a fraction. */
  readonly minute: number
  readonly glucoseMgDl: number
  /** false when the curve breaks before this point: a gap of more than 2 intervals, or clocks set back. */
  readonly joined: boolean
}

/** One local calendar day of the window and its readings. */
export interface DailyCurve {
  /** `YYYY-MM-DD` in the zone. */
  readonly date: string
  /** The day's length in hours: 24, or 23 and 25 (23.5 and 24.5 on Lord Howe) when clocks change. */
  readonly hours: number
  readonly points: ReadonlyArray<CurvePoint>
}

/**
 * The readings of `window` day by local day in `timeZone`, every day of the window listed, with or without
 * readings. Readings further apart than `2 · intervalSeconds` are not joined (pass null to join every reading).
 */
export const dailyCurves = (
  points: ReadonlyArray<GlucosePoint>,
  window: TimeWindow,
  timeZone: TimeZoneName,
  intervalSeconds: number | null
): ReadonlyArray<DailyCurve> => {
  const fromSeconds = Math.floor(DateTime.toEpochMillis(window.from) / 1000)
  const toSeconds = Math.ceil(DateTime.toEpochMillis(window.to) / 1000)
  if (toSeconds <= fromSeconds) return []
  // A day on either side, so that the local midnights around the window are covered too.
  const zone = zoneOffsets(timeZone, fromSeconds - DAY, toSeconds + DAY)
  const localDay = (seconds: number) => Math.floor((seconds + offsetAt(zone, seconds)) / DAY)
  const firstDay = localDay(fromSeconds)
  const lastDay = localDay(toSeconds - 1)
  // The UTC instant of a local midnight, close enough to read the offset around it.
  const midnightOffset = (day: number) => offsetAt(zone, day * DAY - offsetAt(zone, day * DAY))
  const days = Array.from({ length: lastDay - firstDay + 1 }, (_, index) => {
    const day = firstDay + index
    return {
      date: formatInstant(DateTime.makeUnsafe(day * DAY * 1000)).slice(0, 10),
      hours: 24 - (midnightOffset(day + 1) - midnightOffset(day)) / 3600,
      points: [] as Array<CurvePoint>
    }
  })
  const { seconds, values, count } = seriesOf(points, window)
  const local = localSecondsCursor(zone)
  const maxGap = intervalSeconds === null ? Number.POSITIVE_INFINITY : 2 * intervalSeconds
  let previousMinute = Number.NEGATIVE_INFINITY
  let previousDay = -1
  for (let i = 0; i < count; i++) {
    const localSeconds = local(seconds[i]!)
    const day = Math.floor(localSeconds / DAY)
    const minute = (localSeconds - day * DAY) / 60
    const joined = i > 0 && day === previousDay && minute > previousMinute && seconds[i]! - seconds[i - 1]! <= maxGap
    days[day - firstDay]?.points.push({ minute, glucoseMgDl: values[i]!, joined })
    previousMinute = minute
    previousDay = day
  }
  return days
}
