import { DateTime, Duration } from "effect"

/** A half-open interval of time: `from` inclusive, `to` exclusive. */
export interface TimeWindow {
  readonly from: DateTime.Utc
  readonly to: DateTime.Utc
}

export const makeWindow = (from: DateTime.Utc, to: DateTime.Utc): TimeWindow => ({ from, to })

export const windowMillis = (window: TimeWindow): number =>
  DateTime.toEpochMillis(window.to) - DateTime.toEpochMillis(window.from)

export const isEmptyWindow = (window: TimeWindow): boolean => windowMillis(window) <= 0

export const windowContains = (window: TimeWindow, instant: DateTime.Utc): boolean => {
  const at = DateTime.toEpochMillis(instant)
  return at >= DateTime.toEpochMillis(window.from) && at < DateTime.toEpochMillis(window.to)
}

/** Splits a window into consecutive windows no longer than `maximum`, oldest first. */
export const splitWindow = (window: TimeWindow, maximum: Duration.Input): ReadonlyArray<TimeWindow> => {
  const step = Duration.toMillis(maximum)
  if (!(step > 0)) throw new RangeError("splitWindow: the maximum window must be positive")
  const end = DateTime.toEpochMillis(window.to)
  const windows: Array<TimeWindow> = []
  for (let start = DateTime.toEpochMillis(window.from); start < end; start += step) {
    windows.push({ from: DateTime.makeUnsafe(start), to: DateTime.makeUnsafe(Math.min(start + step, end)) })
  }
  return windows
}
