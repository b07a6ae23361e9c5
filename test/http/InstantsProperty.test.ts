import { makeReading, ProviderId, ReadingStore, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import fc from "fast-check"
import { instant, manualClock } from "../support/clock.ts"
import { domainLayer } from "../support/domain.ts"
import { get, postRaw, testServer } from "../support/server.ts"
import { webhookHeaders } from "../support/webhook.ts"

/**
 * The oracle: a small reference parser of RFC 3339 `date-time` written apart from the product (character by
 * character, civil days by H. Hinnant's `days_from_civil`), with the service's documented restrictions: a fraction
 * of at most 9 digits, no leap second (`:60`), `T`, `t` or a space between date and time, and an instant of
 * 1970-01-01T00:00:00Z … 9999-12-31T23:59:59.999Z once the offset is applied. Answers epoch milliseconds
 * (digits past the millisecond dropped), or undefined when the text is refused.
 */
const reference = (text: string): number | undefined => {
  const digit = (index: number) => {
    const code = text.charCodeAt(index)
    return code >= 48 && code <= 57 ? code - 48 : -1
  }
  const number = (from: number, length: number) => {
    let value = 0
    for (let index = from; index < from + length; index++) {
      const d = digit(index)
      if (d < 0) return -1
      value = value * 10 + d
    }
    return value
  }
  if (text.length < 20) return undefined
  if (text[4] !== "-" || text[7] !== "-" || text[13] !== ":" || text[16] !== ":") return undefined
  if (text[10] !== "T" && text[10] !== "t" && text[10] !== " ") return undefined
  const year = number(0, 4)
  const month = number(5, 2)
  const day = number(8, 2)
  const hour = number(11, 2)
  const minute = number(14, 2)
  const second = number(17, 2)
  if ([year, month, day, hour, minute, second].some((value) => value < 0)) return undefined
  let index = 19
  let millis = 0
  if (text[index] === ".") {
    let end = index + 1
    while (end < text.length && digit(end) >= 0) end++
    const digits = end - index - 1
    if (digits < 1 || digits > 9) return undefined
    millis = Number(`${text.slice(index + 1, end)}00`.slice(0, 3))
    index = end
  }
  const zone = text.slice(index)
  let offsetMinutes: number
  if (zone === "Z" || zone === "z") offsetMinutes = 0
  else if (zone.length === 6 && (zone[0] === "+" || zone[0] === "-") && zone[3] === ":") {
    const offsetHour = number(index + 1, 2)
    const offsetMinute = number(index + 4, 2)
    if (offsetHour < 0 || offsetMinute < 0 || offsetHour > 23 || offsetMinute > 59) return undefined
    offsetMinutes = (zone[0] === "-" ? -1 : 1) * (offsetHour * 60 + offsetMinute)
  } else return undefined
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  const monthLength = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
  if (monthLength === undefined || day < 1 || day > monthLength) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  // days_from_civil
  const y = month <= 2 ? year - 1 : year
  const era = Math.floor(y / 400)
  const yearOfEra = y - era * 400
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear
  const days = era * 146_097 + dayOfEra - 719_468
  const epochMillis = ((days * 24 + hour) * 60 + minute - offsetMinutes) * 60_000 + second * 1000 + millis
  return epochMillis < 0 || epochMillis > 253_402_300_799_999 ? undefined : epochMillis
}

const pad = (value: number, width: number) => String(value).padStart(width, "0")

/** RFC 3339-shaped text at the edges of every field: mostly wrong. */
const edges = fc
  .record({
    year: fc.oneof(
      fc.constantFrom(0, 1, 1969, 1970, 1971, 2000, 2024, 2025, 2026, 2100, 9999, 10000),
      fc.integer({ min: 0, max: 9999 })
    ),
    month: fc.oneof(fc.constantFrom(0, 1, 2, 12, 13), fc.integer({ min: 1, max: 12 })),
    day: fc.oneof(fc.constantFrom(0, 1, 28, 29, 30, 31, 32), fc.integer({ min: 1, max: 28 })),
    hour: fc.oneof(fc.constantFrom(0, 23, 24, 25), fc.integer({ min: 0, max: 23 })),
    minute: fc.oneof(fc.constantFrom(0, 59, 60), fc.integer({ min: 0, max: 59 })),
    second: fc.oneof(fc.constantFrom(0, 59, 60), fc.integer({ min: 0, max: 59 })),
    fraction: fc.oneof(fc.constant(""), fc.constant("."), fc.stringMatching(/^\.[0-9]{1,12}$/)),
    separator: fc.constantFrom("T", "T", "T", "t", " ", "_", ""),
    zone: fc.oneof(
      fc.constantFrom("Z", "Z", "z", "", "+00:00", "-00:00", "+23:59", "-23:59", "+24:00", "+0100", "+01", "UTC"),
      fc
        .record({
          sign: fc.constantFrom("+", "-"),
          hours: fc.integer({ min: 0, max: 25 }),
          minutes: fc.integer({ min: 0, max: 61 })
        })
        .map(({ sign, hours, minutes }) => `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`)
    ),
    yearWidth: fc.constantFrom(4, 4, 4, 4, 3, 6)
  })
  .map(
    (parts) =>
      `${pad(parts.year, parts.yearWidth)}-${pad(parts.month, 2)}-${pad(parts.day, 2)}${parts.separator}` +
      `${pad(parts.hour, 2)}:${pad(parts.minute, 2)}:${pad(parts.second, 2)}${parts.fraction}${parts.zone}`
  )

/** Plausible times: real dates in every year the service holds (some near its ends), odd but valid offsets. */
const plausible = fc
  .record({
    year: fc.oneof(fc.constantFrom(1970, 2024, 2026, 9999), fc.integer({ min: 1970, max: 9999 })),
    month: fc.integer({ min: 1, max: 12 }),
    day: fc.integer({ min: 1, max: 31 }),
    hour: fc.integer({ min: 0, max: 23 }),
    minute: fc.integer({ min: 0, max: 59 }),
    second: fc.integer({ min: 0, max: 59 }),
    fraction: fc.oneof(fc.constant(""), fc.stringMatching(/^\.[0-9]{1,9}$/)),
    separator: fc.constantFrom("T", "t", " "),
    zone: fc.oneof(
      fc.constantFrom("Z", "z", "+00:00", "-00:00"),
      fc
        .record({
          sign: fc.constantFrom("+", "-"),
          hours: fc.integer({ min: 0, max: 23 }),
          minutes: fc.integer({ min: 0, max: 59 })
        })
        .map(({ sign, hours, minutes }) => `${sign}${pad(hours, 2)}:${pad(minutes, 2)}`)
    )
  })
  .map(
    (parts) =>
      `${pad(parts.year, 4)}-${pad(parts.month, 2)}-${pad(parts.day, 2)}${parts.separator}` +
      `${pad(parts.hour, 2)}:${pad(parts.minute, 2)}:${pad(parts.second, 2)}${parts.fraction}${parts.zone}`
  )

/** The server's clock stands here, so the future limit of readings is an exact instant. */
const NOW = instant("2026-06-01T12:00:00Z")

/** Times around now: the future limit of readings (its very second included), and the recent past. */
const nearNow = fc
  .integer({ min: -3 * 86_400, max: 3 * 3600 })
  .map((offsetSeconds) => `${new Date(NOW + offsetSeconds * 1000).toISOString().slice(0, 19)}Z`)

const FUTURE_MILLIS = 10 * 60_000
const seconds = (epochMillis: number) => `${new Date(epochMillis).toISOString().slice(0, 19)}Z`
const samples = [
  ...fc.sample(fc.oneof(edges, plausible, nearNow), { numRuns: 200, seed: 20261130 }),
  // The future limit itself, and the second after it.
  seconds(NOW + FUTURE_MILLIS),
  seconds(NOW + FUTURE_MILLIS + 1000)
]
const provider = ProviderId.make("test")

const core = domainLayer([])
const withServer = <A, E>(body: Effect.Effect<A, E, any>) =>
  body.pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped, manualClock(NOW).provide)

const iso = (epochMillis: number) => new Date(epochMillis).toISOString()

describe("property: every RFC 3339-shaped time is refused with a 400 naming its field, or used at exactly the reference instant", () => {
  it("the samples cover both outcomes and the edges", () => {
    const valid = samples.filter((text) => reference(text) !== undefined)
    assert.isAbove(valid.length, 30)
    assert.isAbove(samples.length - valid.length, 30)
    assert.isTrue(samples.some((text) => text.includes("-02-29")))
    assert.isTrue(reference("2024-02-29T23:30:00-01:00") === Date.UTC(2024, 2, 1, 0, 30))
    assert.isTrue(reference("9999-12-31T23:59:59-23:59") === undefined)
    assert.isTrue(reference("1970-01-01T00:59:59.999+01:00") === undefined)
  })

  it.live("webhook timestamps", () =>
    withServer(
      Effect.gen(function* () {
        for (const [index, text] of samples.entries()) {
          const userId = `p${index}`
          const path = `/api/bg/${userId}/webhook`
          const body = new TextEncoder().encode(JSON.stringify({ readings: [{ timestamp: text, glucose_mg_dl: 111 }] }))
          const answer = yield* postRaw(path, body, webhookHeaders(path, body, { timestamp: NOW / 1000 }))
          const expected = reference(text)
          if (expected === undefined || expected > NOW + FUTURE_MILLIS) {
            assert.strictEqual(answer.status, 400, `${text}: ${JSON.stringify(answer.body)}`)
            assert.deepStrictEqual(answer.body.errors[0].path, ["payload", "readings", 0, "timestamp"], text)
            continue
          }
          assert.strictEqual(answer.status, 202, `${text}: ${JSON.stringify(answer.body)}`)
          const latest = yield* get(`/api/bg/${userId}/latest`)
          assert.strictEqual(latest.body.timestamp, `${iso(expected - (expected % 1000)).slice(0, 19)}Z`, text)
        }
      })
    )
  )

  it.live("query parameters from and to", () =>
    withServer(
      Effect.gen(function* () {
        const store = yield* ReadingStore
        for (const [index, text] of samples.entries()) {
          const userId = UserId.make(`q${index}`)
          const expected = reference(text)
          const encoded = encodeURIComponent(text)
          if (expected === undefined) {
            for (const field of ["from", "to"]) {
              const answer = yield* get(`/api/bg/${userId}?${field}=${encoded}`)
              assert.strictEqual(answer.status, 400, `${field}=${text}: ${JSON.stringify(answer.body)}`)
              assert.deepStrictEqual(answer.body.errors[0].path, ["query", field], text)
            }
            continue
          }
          // Readings the second before, at and after the instant's second: the bounds must cut exactly there.
          const second = Math.floor(expected / 1000)
          const around = [second - 1, second, second + 1]
            .filter((s) => s >= 0 && s <= 253_402_300_799)
            .map((s) =>
              makeReading({
                userId,
                timestamp: DateTime.makeUnsafe(s * 1000),
                glucoseMgDl: 100,
                source: { provider, recordId: null }
              })
            )
          yield* store.putMany(around)
          const secondsOf = (answer: { body: ReadonlyArray<{ timestamp: string }> }) =>
            answer.body.map((reading) => Date.parse(reading.timestamp))
          const aroundMillis = around.map((reading) => DateTime.toEpochMillis(reading.timestamp))
          const upper = Math.min(expected + 2_000, 253_402_300_799_999)
          const fromAnswer = yield* get(`/api/bg/${userId}?from=${encoded}&to=${iso(upper)}`)
          assert.strictEqual(fromAnswer.status, 200, `from=${text}: ${JSON.stringify(fromAnswer.body)}`)
          assert.deepStrictEqual(
            secondsOf(fromAnswer),
            aroundMillis.filter((at) => at >= expected && at < upper),
            `from=${text}`
          )
          const lower = Math.max(expected - 2_000, 0)
          const toAnswer = yield* get(`/api/bg/${userId}?from=${iso(lower)}&to=${encoded}`)
          assert.strictEqual(toAnswer.status, 200, `to=${text}: ${JSON.stringify(toAnswer.body)}`)
          assert.deepStrictEqual(
            secondsOf(toAnswer),
            aroundMillis.filter((at) => at >= lower && at < expected),
            `to=${text}`
          )
        }
      })
    )
  )
})
