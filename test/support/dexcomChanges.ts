import { Connect, makeWindow, type Reading, ReadingStore, type UserId } from "@bg-ingest/domain"
import { Clock, DateTime, Effect } from "effect"
import { TestClock } from "effect/testing"
import { type DexcomRecord, type ExpectedReading, egvSeries } from "../fakes/dexcomRecords.ts"
import { type FakeDexcom, type FakeDexcomOptions, fakeDexcom } from "../fakes/FakeDexcomServer.ts"

export const DATA_RANGE = "/v3/users/self/dataRange"
export const EGVS = "/v3/users/self/egvs"
export const MINUTE = 60_000
export const DAY = 86_400_000

/** A fixed instant on a whole 5 minutes, where these tests start the TestClock. */
export const T0 = Date.UTC(2026, 1, 10, 12, 0, 0)

/** Dexcom's query date, `2026-02-10T12:00:00`. */
export const dexcomDate = (millis: number) => new Date(millis).toISOString().slice(0, 19)

/**
 * A fake Dexcom whose clock is the test's: with the TestClock at T0, records arrive at TestClock time, so "what
 * reached Dexcom since" is decided on the same clock as the sync's.
 */
export const fakeDexcomOnTestClock = (options: FakeDexcomOptions = {}) =>
  Effect.gen(function* () {
    yield* TestClock.setTime(T0)
    const clock = yield* Clock.clockWith(Effect.succeed)
    return yield* fakeDexcom({ ...options, now: () => clock.currentTimeMillisUnsafe() })
  })

const recordSeconds = (record: DexcomRecord) => Date.parse(record.systemTime.replace(/Z?$/, "Z")) / 1000

/**
 * Two days of readings up to 10 minutes before T0, every Dexcom quirk included, with a 3-hour hole 20 hours before
 * T0 whose records the transmitter backfills later (`late`, oldest first). `expectedLate` has what each late record
 * must become: undefined for a record without a value.
 */
export const lateAccount = () => {
  const start = T0 - 2 * DAY
  const series = egvSeries({ start, count: 575, nullEvery: 13, highLowEvery: 17, displayOffset: "-06:59:59" })
  const holeStart = (T0 - 20 * 60 * MINUTE) / 1000
  const holeEnd = holeStart + 36 * 300
  const inHole = (epochSeconds: number) => epochSeconds >= holeStart && epochSeconds < holeEnd
  const late = series.records.filter((r) => inHole(recordSeconds(r)))
  return {
    start,
    newest: start + 574 * 300_000,
    records: series.records.filter((r) => !inHole(recordSeconds(r))),
    late,
    expected: series.expected.filter((r) => !inHole(r.epochSeconds)),
    expectedLate: late.map((record) => series.expected.find((r) => r.epochSeconds === recordSeconds(record))),
    lateSeconds: late.map(recordSeconds)
  }
}

export const byTime = (a: ExpectedReading, b: ExpectedReading) => a.epochSeconds - b.epochSeconds

/** What the store holds, in the shape of the oracle. */
export const asExpected = (reading: Reading): ExpectedReading => ({
  epochSeconds: DateTime.toEpochMillis(reading.timestamp) / 1000,
  glucoseMgDl: reading.glucoseMgDl,
  trend: reading.trend,
  trendRate: reading.trendRate,
  status: reading.status,
  recordId: reading.source.recordId ?? "",
  displayTime: reading.displayTime ?? ""
})

export const storedReadings = (userId: UserId) =>
  ReadingStore.use((store) =>
    store.range(userId, makeWindow(DateTime.makeUnsafe(T0 - 200 * DAY), DateTime.makeUnsafe(T0 + 100 * DAY)), 100_000)
  ).pipe(Effect.map((readings) => readings.map(asExpected)))

/** authorize → Dexcom's consent page → callback, as a browser would go through them. */
export const connectThroughConsent = (fake: FakeDexcom, userId: UserId, username: string) =>
  Effect.gen(function* () {
    const connect = yield* Connect
    const { consentUrl, browserBinding } = yield* connect.authorize(userId, "dexcom")
    const redirect = yield* Effect.promise(() => fake.consent(consentUrl, { username }))
    return yield* connect.complete("dexcom", {
      code: redirect.searchParams.get("code") ?? undefined,
      state: redirect.searchParams.get("state") ?? undefined,
      browserBinding
    })
  })

/** The requests the fake received while `effect` ran. */
export const requestsDuring = <A, E, R>(fake: FakeDexcom, effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const before = fake.requests.length
    const result = yield* effect
    return { result, requests: fake.requests.slice(before) }
  })

/** The data calls of some requests (token renewals left out), as `path lastSyncTime|startDate..endDate`. */
export const dataCalls = (requests: FakeDexcom["requests"]) =>
  requests
    .filter((r) => r.path === DATA_RANGE || r.path === EGVS)
    .map((r) =>
      r.path === DATA_RANGE
        ? `dataRange ${r.lastSyncTime ?? "-"} ${r.status}`
        : `egvs ${r.startDate}..${r.endDate} ${r.status}`
    )
