/**
 * Builds Nightscout entries as uploaders leave them on a site (docs/nightscout.md), quirks included, together
 * with the readings a correct `nightscout` provider makes of them (the oracle of the tests).
 */

const DIRECTIONS = [
  "NONE",
  "DoubleUp",
  "SingleUp",
  "FortyFiveUp",
  "Flat",
  "FortyFiveDown",
  "SingleDown",
  "DoubleDown",
  "NOT COMPUTABLE",
  "RATE OUT OF RANGE"
] as const

const TRENDS = [
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

export interface ExpectedNightscoutReading {
  readonly epochSeconds: number
  readonly glucoseMgDl: number
  readonly trend: string
  readonly status: "ok" | "low" | "high"
  readonly recordId: string
}

export interface NightscoutSeriesOptions {
  /** Epoch milliseconds of the first entry. */
  readonly start: number
  readonly count: number
  readonly cadenceSeconds?: number
  readonly value?: (index: number) => number
  /** Every n-th entry (index % n === n - 1) is a Dexcom error code (sgv 5): not a reading. */
  readonly errorCodeEvery?: number
  /** After every n-th entry (index % n === 0), a finger-stick (`mbg`) at the same time: not a reading. */
  readonly mbgEvery?: number
  /** Every n-th entry (index % n === 2) is posted a second time by another uploader, a second later in ms. */
  readonly duplicateEvery?: number
  /** Every n-th entry (index % n === 4) has its `sgv` as a numeric string and only a `trend` number, no direction. */
  readonly stringValueEvery?: number
}

/** 24 hex digits, distinct per index and salt, like the ObjectIds a site gives its entries. */
const objectId = (index: number, salt: number) =>
  `${(0x65000000 + index).toString(16)}${salt.toString(16).padStart(4, "0")}${index.toString(16).padStart(12, "0")}`

export const nightscoutSeries = (options: NightscoutSeriesOptions) => {
  const cadence = (options.cadenceSeconds ?? 300) * 1000
  const entries: Array<Record<string, unknown>> = []
  const expected: Array<ExpectedNightscoutReading> = []
  for (let index = 0; index < options.count; index++) {
    // Real entries carry milliseconds; the reading's instant is the whole second.
    const date = options.start + index * cadence + (index % 3 === 1 ? 417 : 0)
    const trend = index % DIRECTIONS.length
    const errorCode =
      options.errorCodeEvery !== undefined && index % options.errorCodeEvery === options.errorCodeEvery - 1
    const sgv = errorCode ? 5 : Math.round(options.value?.(index) ?? 39 + ((index * 13) % 380))
    const stringValue = options.stringValueEvery !== undefined && index % options.stringValueEvery === 4
    const entry: Record<string, unknown> = {
      _id: objectId(index, 1),
      type: "sgv",
      sgv: stringValue ? String(sgv) : sgv,
      date,
      dateString: new Date(date).toISOString(),
      ...(stringValue ? { trend } : { direction: DIRECTIONS[trend], trend }),
      device: "xDrip-DexcomG6",
      sysTime: new Date(date).toISOString()
    }
    entries.push(entry)
    if (options.duplicateEvery !== undefined && index % options.duplicateEvery === 2) {
      entries.push({ ...entry, _id: objectId(index, 2), device: "share2", date: Math.floor(date / 1000) * 1000 + 1 })
    }
    if (options.mbgEvery !== undefined && index % options.mbgEvery === 0) {
      entries.push({ _id: objectId(index, 3), type: "mbg", mbg: 120, date, dateString: new Date(date).toISOString() })
    }
    if (errorCode) continue
    const duplicated = options.duplicateEvery !== undefined && index % options.duplicateEvery === 2
    expected.push({
      epochSeconds: Math.floor(date / 1000),
      glucoseMgDl: sgv,
      trend: TRENDS[trend]!,
      status: sgv <= 39 ? "low" : sgv > 400 ? "high" : "ok",
      // Of two equal entries at one second the provider keeps the one whose record id sorts last.
      recordId: duplicated ? objectId(index, 2) : objectId(index, 1)
    })
  }
  return { entries, expected }
}
