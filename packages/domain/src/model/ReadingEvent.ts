import { type DateTime, Schema } from "effect"
import { md5Into } from "./Md5.ts"
import { formatInstant, type Reading } from "./Reading.ts"

export const ReadingEventTypes = ["bg.reading.created", "bg.reading.updated"] as const
export const ReadingEventType = Schema.Literals(ReadingEventTypes)
export type ReadingEventType = typeof ReadingEventType.Type

/** What a store write did to a reading, and so which event it owes. */
export type ReadingChangeKind = "created" | "updated"

export interface ReadingChange {
  readonly kind: ReadingChangeKind
  readonly reading: Reading
}

/** One event per inserted or updated reading; its message is described in docs/events.md. */
export interface ReadingEvent {
  readonly eventId: string
  readonly type: ReadingEventType
  readonly occurredAt: DateTime.Utc
  readonly reading: Reading
}

// The RFC 4122 URL namespace, so that event ids are ordinary name-based UUIDs.
const NAMESPACE = Uint8Array.from([
  0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8
])
const encoder = new TextEncoder()
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))

// Every stored reading gets one: one buffer for all ids (UTF-8 takes at most 3 bytes per UTF-16 unit), the
// namespace kept at its start, and a table for hex.
let input = Uint8Array.from(NAMESPACE)
const digest = new Uint8Array(16)
const uuidV3 = (name: string): string => {
  const needed = NAMESPACE.length + name.length * 3
  if (input.length < needed) {
    input = new Uint8Array(needed * 2)
    input.set(NAMESPACE)
  }
  // The names are ASCII (user ids, times, numbers, trend and status words): copied as they are, else UTF-8.
  let length = NAMESPACE.length
  for (let index = 0; index < name.length; index++) {
    const code = name.charCodeAt(index)
    if (code > 0x7f) {
      length = NAMESPACE.length + encoder.encodeInto(name, input.subarray(NAMESPACE.length)).written
      break
    }
    input[length++] = code
  }
  const hash = md5Into(digest, input, length)
  const hex = (index: number) => HEX[hash[index]!]!
  const version = HEX[(hash[6]! & 0x0f) | 0x30]!
  const variant = HEX[(hash[8]! & 0x3f) | 0x80]!
  return (
    `${hex(0)}${hex(1)}${hex(2)}${hex(3)}-${hex(4)}${hex(5)}-${version}${hex(7)}-${variant}${hex(9)}-` +
    `${hex(10)}${hex(11)}${hex(12)}${hex(13)}${hex(14)}${hex(15)}`
  )
}

/**
 * The event id is a name-based UUID (v3) of the user, the instant and the measurement, so re-publishing the
 * same reading carries the same id and consumers can de-duplicate on it, while a changed value gets a new one.
 */
export const readingEventId = (reading: Reading): string =>
  uuidV3(
    `bg-ingest/reading\u0000${reading.userId}\u0000${formatInstant(reading.timestamp)}\u0000${reading.glucoseMgDl}` +
      `\u0000${reading.trend}\u0000${reading.trendRate ?? ""}\u0000${reading.status}`
  )

export const eventTypeOf = (kind: ReadingChangeKind): ReadingEventType =>
  kind === "created" ? "bg.reading.created" : "bg.reading.updated"

export const makeReadingEvent = (change: ReadingChange, occurredAt: DateTime.Utc): ReadingEvent => ({
  eventId: readingEventId(change.reading),
  type: eventTypeOf(change.kind),
  occurredAt,
  reading: change.reading
})
