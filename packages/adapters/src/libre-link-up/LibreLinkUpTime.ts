import { Option } from "effect"

// `M/D/YYYY h:mm:ss AM`: no zero padding of month, day or hour, a 12-hour clock, no zone, no fraction.
const LIBRE_TIME = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)$/i

/**
 * Reads a LibreLinkUp time as the wall-clock reading it is, counted as if it were UTC (epoch milliseconds, whole
 * seconds). For `FactoryTimestamp`, which is UTC, that is the instant; for `Timestamp`, the phone's local time, it
 * is only a wall clock. Never uses the machine's zone. None when the text is not such a time or names a day or
 * hour that does not exist (`2/30/2026`, `13:00:00 PM`).
 */
export const parseLibreTime = (text: string): Option.Option<number> => {
  const match = LIBRE_TIME.exec(text.trim())
  if (match === null) return Option.none()
  const [month, day, year, hour12, minute, second] = match.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number
  ]
  if (month < 1 || month > 12 || day < 1 || hour12 < 1 || hour12 > 12 || minute > 59 || second > 59) {
    return Option.none()
  }
  const hour = (hour12 % 12) + (match[7]?.toUpperCase() === "PM" ? 12 : 0)
  const millis = Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC rolls an impossible day (2/30) into the next month: such a date was never a LibreLinkUp time.
  if (new Date(millis).getUTCDate() !== day) return Option.none()
  return Option.some(millis)
}

/** The most a zone is ever ahead of or behind UTC (Kiribati: +14:00, Baker Island: −12:00). */
const MAX_OFFSET_MINUTES = 14 * 60

const pad = (n: number) => String(n).padStart(2, "0")

/**
 * The phone's local time as RFC 3339 with its offset (`2024-11-02T22:05:17-04:00`), from `Timestamp` (the phone's
 * wall clock) and `FactoryTimestamp` (the instant), the way the Dexcom API gives `displayTime`. None unless their
 * difference is a whole number of minutes no larger than any zone's offset: then they are not one reading's two
 * clocks, and saying nothing is better than a wrong offset.
 */
export const libreDisplayTime = (instantMillis: number, localWallMillis: number): string | null => {
  const difference = localWallMillis - instantMillis
  if (difference % 60_000 !== 0) return null
  const offsetMinutes = difference / 60_000
  if (Math.abs(offsetMinutes) > MAX_OFFSET_MINUTES) return null
  const local = new Date(localWallMillis).toISOString().slice(0, 19)
  const magnitude = Math.abs(offsetMinutes)
  return `${local}${offsetMinutes < 0 ? "-" : "+"}${pad(Math.floor(magnitude / 60))}:${pad(magnitude % 60)}`
}
