import { Schema } from "effect"

// An IANA zone name such as Europe/Berlin, America/Port-au-Prince, Etc/GMT+5 or UTC. Intl also accepts offsets
// such as +05:30, which are not zones (they know no daylight saving time): the name's shape rules them out.
const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+){0,2}$/u

const formatterOf = (name: string): Intl.DateTimeFormat | undefined => {
  if (name.length > 64 || !ZONE_NAME.test(name)) return undefined
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: name })
  } catch {
    return undefined
  }
}

export const isTimeZone = (name: string): boolean => formatterOf(name) !== undefined

/** A time zone of the IANA database that this runtime knows, e.g. `Europe/Berlin`, `Asia/Kolkata` or `UTC`. */
const expected = "an IANA time zone such as Europe/Berlin, America/New_York or UTC"

export const TimeZoneName = Schema.String.check(
  Schema.isMaxLength(64, { expected }),
  Schema.isPattern(ZONE_NAME, { expected }),
  Schema.makeFilter((name: string) => isTimeZone(name), { expected })
).pipe(Schema.brand("TimeZoneName"))
export type TimeZoneName = typeof TimeZoneName.Type
