import { Option } from "effect"

/** A Share date: epoch milliseconds (UTC), and the offset from UTC in minutes when the text carries one. */
export interface ShareDate {
  readonly epochMillis: number
  readonly offsetMinutes: number | null
}

// The Microsoft JSON date: `Date(1713543055000)` on current servers, `/Date(1713543055000)/` on old ones (sent as
// "\/Date(…)\/", which JSON reads as "/Date(…)/"), optionally with an offset such as `-0400` after the number.
const SHARE_DATE = /^\/?Date\((-?\d{1,15})([+-]\d{4})?\)\/?$/

/**
 * Reads a Share date. The number is always milliseconds since the epoch in UTC; the offset only says which zone
 * the device displayed it in. None when the text is not such a date or the offset is impossible.
 */
export const parseShareDate = (text: string): Option.Option<ShareDate> => {
  const match = SHARE_DATE.exec(text.trim())
  if (match === null) return Option.none()
  const epochMillis = Number(match[1])
  const offset = match[2]
  if (!Number.isSafeInteger(epochMillis)) return Option.none()
  if (offset === undefined) return Option.some({ epochMillis, offsetMinutes: null })
  const hours = Number(offset.slice(1, 3))
  const minutes = Number(offset.slice(3, 5))
  if (hours > 18 || minutes > 59) return Option.none()
  const magnitude = hours * 60 + minutes
  return Option.some({ epochMillis, offsetMinutes: offset.startsWith("-") ? -magnitude : magnitude })
}

const pad = (n: number) => String(n).padStart(2, "0")

/**
 * The display time as RFC 3339 in the device's zone (`2024-04-19T12:10:55-04:00`), the way the Dexcom API gives
 * `displayTime`; null when the date carries no offset, since then it says nothing the instant does not.
 */
export const formatShareDisplayTime = (date: ShareDate): string | null => {
  if (date.offsetMinutes === null) return null
  const local = new Date(date.epochMillis + date.offsetMinutes * 60_000).toISOString().slice(0, 19)
  const sign = date.offsetMinutes < 0 ? "-" : "+"
  const magnitude = Math.abs(date.offsetMinutes)
  return `${local}${sign}${pad(Math.floor(magnitude / 60))}:${pad(magnitude % 60)}`
}
