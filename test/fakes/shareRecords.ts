/**
 * Builds Dexcom Share glucose values with the quirks of the real service, together with the readings a correct
 * adapter must make of them (the oracle of the tests).
 */

/** Share's trend names, by their number on old servers (0–9). */
export const SHARE_TREND_NAMES = [
  "None",
  "DoubleUp",
  "SingleUp",
  "FortyFiveUp",
  "Flat",
  "FortyFiveDown",
  "SingleDown",
  "DoubleDown",
  "NotComputable",
  "RateOutOfRange"
] as const

const DOMAIN_TRENDS = [
  "none",
  "doubleUp",
  "singleUp",
  "fortyFiveUp",
  "flat",
  "fortyFiveDown",
  "singleDown",
  "doubleDown",
  "notComputable",
  "rateOutOfRange"
] as const

/** `modern`: `Date(ms)` and trend names. `legacy`: `\/Date(ms)\/` and trend numbers (old servers). */
export type ShareFormat = "modern" | "legacy"

/** One value as the fake holds it, before it is written in a format. */
export interface ShareRecord {
  /** The instant (`WT`), epoch milliseconds; not always a whole second. */
  readonly epochMillis: number
  readonly value: number | null
  /** 0–9, or a name Share might add one day (the adapter maps it to `unknown`). */
  readonly trend: number | string
  /** The display device's offset on `DT` (`-0400`), or none. */
  readonly dtOffset: string | null
  /** An offset written on `WT` too (it changes nothing: the number is UTC). */
  readonly wtOffset?: string
}

/** What the adapter must produce from a value that carries a glucose. */
export interface ExpectedShareReading {
  readonly epochSeconds: number
  readonly glucoseMgDl: number
  readonly trend: string
  readonly status: "ok" | "high" | "low"
  readonly displayTime: string | null
}

export interface ShareSeriesOptions {
  /** Epoch milliseconds of the first value. */
  readonly start: number
  readonly count: number
  readonly cadenceSeconds?: number
  readonly value?: (index: number) => number
  /** Every n-th value (index % n === n - 1) has no glucose (`Value: null`). */
  readonly nullEvery?: number
  /** Every n-th value (index % n === 1) is at the sensor's limit: 400 (high) or, alternately, 40 (low). */
  readonly highLowEvery?: number
  /** The display offset on `DT` (default `-0400`); null for none. */
  readonly dtOffset?: string | null
  /** Every n-th value (index % n === 2) has the offset on `WT` too. */
  readonly wtOffsetEvery?: number
}

const offsetMinutes = (offset: string) => {
  const magnitude = Number(offset.slice(1, 3)) * 60 + Number(offset.slice(3, 5))
  return offset.startsWith("-") ? -magnitude : magnitude
}

/** `2024-04-19T08:10:55-04:00`: the instant in the display device's zone. */
export const displayTimeOf = (epochMillis: number, offset: string | null): string | null => {
  if (offset === null) return null
  const local = new Date(Math.floor(epochMillis / 1000) * 1000 + offsetMinutes(offset) * 60_000)
  return `${local.toISOString().slice(0, 19)}${offset.slice(0, 3)}:${offset.slice(3)}`
}

export const shareSeries = (
  options: ShareSeriesOptions
): { readonly records: ReadonlyArray<ShareRecord>; readonly expected: ReadonlyArray<ExpectedShareReading> } => {
  const cadence = (options.cadenceSeconds ?? 300) * 1000
  const dtOffset = options.dtOffset === undefined ? "-0400" : options.dtOffset
  const records: Array<ShareRecord> = []
  const expected: Array<ExpectedShareReading> = []
  for (let index = 0; index < options.count; index++) {
    // Real values land at odd seconds, some with milliseconds; the instant is the whole second.
    const epochMillis = options.start + index * cadence + (index % 5 === 4 ? 731 : 0)
    const trend = index % SHARE_TREND_NAMES.length
    let value = Math.round(options.value?.(index) ?? 90 + ((index * 7) % 150))
    if (options.highLowEvery !== undefined && index % options.highLowEvery === 1) {
      value = Math.floor(index / options.highLowEvery) % 2 === 0 ? 400 : 40
    }
    const withoutValue = options.nullEvery !== undefined && index % options.nullEvery === options.nullEvery - 1
    const wtOffset =
      options.wtOffsetEvery !== undefined && dtOffset !== null && index % options.wtOffsetEvery === 2
        ? { wtOffset: dtOffset }
        : {}
    records.push({ epochMillis, value: withoutValue ? null : value, trend, dtOffset, ...wtOffset })
    if (withoutValue) continue
    expected.push({
      epochSeconds: Math.floor(epochMillis / 1000),
      glucoseMgDl: value,
      trend: DOMAIN_TRENDS[trend]!,
      status: value <= 40 ? "low" : value >= 400 ? "high" : "ok",
      displayTime: displayTimeOf(epochMillis, dtOffset)
    })
  }
  return { records, expected }
}

/** A value no sensor can read (a unit mix-up upstream): rejected, never stored. */
export const impossibleShareRecord = (epochMillis: number): ShareRecord => ({
  epochMillis,
  value: 900,
  trend: 4,
  dtOffset: "-0400"
})

const shareDate = (epochMillis: number, offset: string | null | undefined, format: ShareFormat) => {
  const inner = `Date(${epochMillis}${offset ?? ""})`
  return format === "legacy" ? `/${inner}/` : inner
}

/** A value as Share sends it, in one of its two formats. */
export const shareValueJson = (record: ShareRecord, format: ShareFormat) => ({
  WT: shareDate(record.epochMillis, record.wtOffset, format),
  ST: shareDate(record.epochMillis, null, format),
  DT: shareDate(record.epochMillis, record.dtOffset, format),
  Value: record.value,
  Trend:
    typeof record.trend === "string"
      ? record.trend
      : format === "legacy"
        ? record.trend
        : (SHARE_TREND_NAMES[record.trend] ?? "None")
})
