import { DateTime, Option } from "effect"

/** Dexcom's query date: UTC with no zone and no milliseconds, `2026-02-01T08:00:00`. */
export const formatDexcomDate = (epochMillis: number): string => new Date(epochMillis).toISOString().slice(0, 19)

const DEXCOM_TIME =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2}(?::?\d{2})?)?$/

const offsetMillis = (zone: string | undefined): number => {
  if (zone === undefined || zone === "Z" || zone === "z") return 0
  const digits = zone.slice(1).replaceAll(":", "")
  const hours = Number(digits.slice(0, 2))
  const minutes = Number(digits.slice(2, 4))
  const seconds = digits.length > 4 ? Number(digits.slice(4, 6)) : 0
  const magnitude = ((hours * 60 + minutes) * 60 + seconds) * 1000
  return zone.startsWith("-") ? -magnitude : magnitude
}

/**
 * A Dexcom `systemTime` as an instant. Zone-less times (older payloads) are UTC; an offset, even an odd one
 * with seconds, is applied. None when the text is not a valid date-time.
 */
export const parseDexcomTime = (text: string): Option.Option<DateTime.Utc> => {
  const match = DEXCOM_TIME.exec(text.trim())
  if (match === null) return Option.none()
  const [, year, month, day, hour, minute, second, fraction, zone] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
    string | undefined,
    string | undefined
  ]
  const millisOfSecond = fraction === undefined ? 0 : Math.floor(Number(`0.${fraction}`) * 1000)
  const local = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour),
    Number(minute),
    Number(second),
    millisOfSecond
  )
  // Date.UTC rolls over out-of-range fields (February 30th): reject them instead.
  const check = new Date(local)
  if (
    check.getUTCFullYear() !== Number(year) ||
    check.getUTCMonth() !== Number(month) - 1 ||
    check.getUTCDate() !== Number(day) ||
    check.getUTCHours() !== Number(hour) ||
    check.getUTCMinutes() !== Number(minute) ||
    Number(second) > 59
  ) {
    return Option.none()
  }
  return Option.some(DateTime.makeUnsafe(local - offsetMillis(zone)))
}
