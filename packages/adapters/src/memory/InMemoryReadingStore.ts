import {
  countSetAside,
  isHoldableInstant,
  type Reading,
  type ReadingChange,
  type ReadingChangeKind,
  ReadingStore,
  readingEpochSeconds,
  sameMeasurement,
  type UserId
} from "@bg-ingest/domain"
import { Clock, DateTime, Duration, Effect, Layer, Option } from "effect"
import { syncMethods } from "../spans/PortMethods.ts"

interface Row {
  reading: Reading
  pending: ReadingChangeKind | null
  /** Insertion order, so unconfirmed events come back oldest first. */
  sequence: number
  /** When the publication of the owed event last started (epoch ms): its write, or a sweep's claim. */
  claimedAt: number
}

/** Binary search: the index of the first second in `sorted` that is `>= target`. */
const lowerBound = (sorted: ReadonlyArray<number>, target: number): number => {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const middle = (low + high) >>> 1
    if (sorted[middle]! < target) low = middle + 1
    else high = middle
  }
  return low
}

interface UserReadings {
  readonly rows: Map<number, Row>
  /** Epoch seconds of `rows`, ascending. */
  readonly seconds: Array<number>
}

/** A `ReadingStore` in process memory: for tests, the library's examples, and `STORE=memory`. */
export const makeInMemoryReadingStore = Effect.sync(() => {
  const method = syncMethods("InMemoryReadingStore")
  const users = new Map<UserId, UserReadings>()
  let sequence = 0

  const userReadings = (userId: UserId): UserReadings => {
    let entry = users.get(userId)
    if (entry === undefined) {
      entry = { rows: new Map(), seconds: [] }
      users.set(userId, entry)
    }
    return entry
  }

  /** Owed events (claimed no later than `claimedBy`, when given), oldest first; unholdable ones set aside. */
  const owedRows = (limit: number, claimedBy: number | undefined) => {
    const pending: Array<Row> = []
    let setAside = 0
    for (const entry of users.values()) {
      for (const row of entry.rows.values()) {
        if (row.pending === null) continue
        if (claimedBy !== undefined && row.claimedAt > claimedBy) continue
        if (isHoldableInstant(DateTime.toEpochMillis(row.reading.timestamp))) pending.push(row)
        else {
          // No contract can carry its instant: it leaves the outbox rather than block every sweep.
          row.pending = null
          setAside += 1
        }
      }
    }
    return { rows: pending.sort((a, b) => a.sequence - b.sequence).slice(0, limit), setAside }
  }

  const asChange = (row: Row): ReadingChange => ({ kind: row.pending!, reading: row.reading })

  const unpublishedOrSetAside = method("unpublished", (limit: number) => {
    const { rows, setAside } = owedRows(limit, undefined)
    return { owed: rows.map(asChange), setAside }
  })

  const claimOrSetAside = method("claimUnpublished", (limit: number, now: number, claimMillis: number) => {
    const { rows, setAside } = owedRows(limit, now - claimMillis)
    for (const row of rows) row.claimedAt = now
    return { owed: rows.map(asChange), setAside }
  })

  const reportSetAside = ({ owed, setAside }: { owed: ReadonlyArray<ReadingChange>; setAside: number }) =>
    setAside === 0
      ? Effect.succeed(owed)
      : countSetAside("event", "memory", setAside).pipe(
          Effect.andThen(Effect.logWarning("Owed events outside 1970–9999 were set aside", { count: setAside })),
          Effect.as(owed)
        )

  const putManyAt = method("putMany", (readings: ReadonlyArray<Reading>, now: number) => {
    let inserted = 0
    let updated = 0
    let unchanged = 0
    const changes: Array<ReadingChange> = []
    const owed: Array<ReadingChange> = []
    for (const reading of readings) {
      const entry = userReadings(reading.userId)
      const second = readingEpochSeconds(reading)
      const existing = entry.rows.get(second)
      if (existing === undefined) {
        entry.rows.set(second, { reading, pending: "created", sequence: sequence++, claimedAt: now })
        entry.seconds.splice(lowerBound(entry.seconds, second), 0, second)
        inserted += 1
        changes.push({ kind: "created", reading })
      } else if (sameMeasurement(existing.reading, reading)) {
        unchanged += 1
        if (existing.pending !== null) owed.push({ kind: existing.pending, reading: existing.reading })
      } else {
        existing.reading = reading
        existing.pending = existing.pending ?? "updated"
        existing.claimedAt = now
        updated += 1
        changes.push({ kind: existing.pending, reading })
      }
    }
    return { inserted, updated, unchanged, changes, owed }
  })

  return ReadingStore.of({
    putMany: (readings) => Effect.flatMap(Clock.currentTimeMillis, (now) => putManyAt(readings, now)),
    markPublished: method("markPublished", (readings) => {
      for (const reading of readings) {
        const row = users.get(reading.userId)?.rows.get(readingEpochSeconds(reading))
        if (row !== undefined && sameMeasurement(row.reading, reading)) row.pending = null
      }
    }),
    unpublished: (limit) => Effect.flatMap(unpublishedOrSetAside(limit), reportSetAside),
    claimUnpublished: ({ limit, now, claim }) =>
      Effect.flatMap(claimOrSetAside(limit, DateTime.toEpochMillis(now), Duration.toMillis(claim)), reportSetAside),
    releaseUnpublished: method("releaseUnpublished", (readings: ReadonlyArray<Reading>) => {
      for (const reading of readings) {
        const row = users.get(reading.userId)?.rows.get(readingEpochSeconds(reading))
        if (row !== undefined && row.pending !== null && sameMeasurement(row.reading, reading))
          row.claimedAt = Number.MIN_SAFE_INTEGER
      }
    }),
    latest: method("latest", (userId) => {
      const entry = users.get(userId)
      if (entry === undefined) return Option.none()
      // Readings outside 1970–9999 (stored before instants were checked) are never served.
      for (let index = entry.seconds.length - 1; index >= 0; index--) {
        const second = entry.seconds[index]!
        if (isHoldableInstant(second * 1000)) return Option.some(entry.rows.get(second)!.reading)
      }
      return Option.none()
    }),
    range: method("range", (userId, window, limit, order = "oldestFirst") => {
      const entry = users.get(userId)
      if (entry === undefined || limit <= 0) return []
      const from = Math.ceil(DateTime.toEpochMillis(window.from) / 1000)
      const to = Math.ceil(DateTime.toEpochMillis(window.to) / 1000)
      const first = lowerBound(entry.seconds, from)
      const last = lowerBound(entry.seconds, to)
      const seconds =
        order === "oldestFirst"
          ? entry.seconds.slice(first, Math.min(last, first + limit))
          : entry.seconds.slice(Math.max(first, last - limit), last).reverse()
      return seconds.map((second) => entry.rows.get(second)!.reading)
    }),
    deleteUser: method("deleteUser", (userId) => {
      const count = users.get(userId)?.rows.size ?? 0
      users.delete(userId)
      return count
    }),
    ping: method("ping", () => undefined)()
  })
})

export const InMemoryReadingStore = {
  layer: Layer.effect(ReadingStore, makeInMemoryReadingStore)
} as const
