import { type DateTime, Schema } from "effect"
import { Digest } from "effect/crypto"
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

/** One event per inserted or updated reading (DESIGN §4). */
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
const md5 = Digest.md5.implementation!

const uuidV3 = (name: string): string => {
  const nameBytes = encoder.encode(name)
  const input = new Uint8Array(NAMESPACE.length + nameBytes.length)
  input.set(NAMESPACE)
  input.set(nameBytes, NAMESPACE.length)
  const hash = md5(input)
  hash[6] = (hash[6]! & 0x0f) | 0x30
  hash[8] = (hash[8]! & 0x3f) | 0x80
  const hex = Array.from(hash.subarray(0, 16), (byte) => byte.toString(16).padStart(2, "0")).join("")
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/**
 * The event id is a name-based UUID (v3) of the user, the instant and the measurement, so re-publishing the
 * same reading carries the same id and consumers can de-duplicate on it, while a changed value gets a new one.
 */
export const readingEventId = (reading: Reading): string =>
  uuidV3(
    [
      "bg-ingest/reading",
      reading.userId,
      formatInstant(reading.timestamp),
      reading.glucoseMgDl,
      reading.trend,
      reading.trendRate ?? "",
      reading.status
    ].join("\u0000")
  )

export const eventTypeOf = (kind: ReadingChangeKind): ReadingEventType =>
  kind === "created" ? "bg.reading.created" : "bg.reading.updated"

export const makeReadingEvent = (change: ReadingChange, occurredAt: DateTime.Utc): ReadingEvent => ({
  eventId: readingEventId(change.reading),
  type: eventTypeOf(change.kind),
  occurredAt,
  reading: change.reading
})
