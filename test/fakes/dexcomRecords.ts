/**
 * Builds Dexcom v3 EGV records with the quirks of the real API, together with the readings a correct
 * adapter must make of them (the oracle of the tests).
 */

export const DEXCOM_TRENDS = [
  "none",
  "unknown",
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

const MG_DL_PER_MMOL_L = 18.01559

/** A record as Dexcom sends it. Fields beyond these may be present (unknown fields). */
export interface DexcomRecord {
  readonly recordId: string
  readonly systemTime: string
  readonly displayTime: string
  readonly value: number | null
  readonly status: string | null
  readonly trend: string | null
  readonly trendRate: number | null
  readonly unit: string
  readonly rateUnit: string
  readonly [extra: string]: unknown
}

/** What the adapter must produce from a record that carries a valid value. */
export interface ExpectedReading {
  readonly epochSeconds: number
  readonly glucoseMgDl: number
  readonly trend: string
  readonly trendRate: number | null
  readonly status: "ok" | "high" | "low" | "unknown"
  readonly recordId: string
  readonly displayTime: string
}

export interface SeriesOptions {
  /** Epoch milliseconds of the first record. */
  readonly start: number
  readonly count: number
  readonly cadenceSeconds?: number
  readonly unit?: "mg/dL" | "mmol/L"
  /** The glucose in mg/dL of record `index` (for mmol/L users it is sent rounded to one decimal of mmol/L). */
  readonly value?: (index: number) => number
  /** Every n-th record (index % n === n - 1) has no value (sensor warm-up, signal loss). */
  readonly nullEvery?: number
  /** Every n-th record (index % n === 1) reads high (400, clamped) or, alternately, low (40). */
  readonly highLowEvery?: number
  /** The display device's offset, verbatim (odd offsets such as `-06:59:59` happen). */
  readonly displayOffset?: string
  /** Older payloads: both times without any zone. */
  readonly zoneLess?: boolean
  /** Fields Dexcom may add that the adapter must ignore. */
  readonly unknownFields?: boolean
  readonly recordIdPrefix?: string
}

const offsetSeconds = (offset: string): number => {
  const [hours, minutes, seconds] = offset.slice(1).split(":").map(Number)
  const magnitude = (hours ?? 0) * 3600 + (minutes ?? 0) * 60 + (seconds ?? 0)
  return offset.startsWith("-") ? -magnitude : magnitude
}

/** `2026-02-01T08:00:00` (no zone) of an epoch instant shifted by `shiftSeconds`. */
const wallClock = (epochSeconds: number, shiftSeconds = 0) =>
  new Date((epochSeconds + shiftSeconds) * 1000).toISOString().slice(0, 19)

// `|| 0` turns -0 into 0, as JSON does.
const oneDecimal = (x: number) => Math.round(x * 10) / 10 || 0

export const egvSeries = (
  options: SeriesOptions
): { readonly records: ReadonlyArray<DexcomRecord>; readonly expected: ReadonlyArray<ExpectedReading> } => {
  const cadence = options.cadenceSeconds ?? 300
  const unit = options.unit ?? "mg/dL"
  const offset = options.displayOffset ?? "-08:00"
  const prefix = options.recordIdPrefix ?? "rec"
  const records: Array<DexcomRecord> = []
  const expected: Array<ExpectedReading> = []
  for (let index = 0; index < options.count; index++) {
    const epochSeconds = Math.floor(options.start / 1000) + index * cadence
    const recordId = `${prefix}-${epochSeconds}`
    const trend = DEXCOM_TRENDS[index % DEXCOM_TRENDS.length]!
    let mgDl = Math.round(options.value?.(index) ?? 100 + ((index * 7) % 120))
    let status: "ok" | "high" | "low" | null = index % 3 === 0 ? "ok" : null
    if (options.highLowEvery !== undefined && index % options.highLowEvery === 1) {
      const high = Math.floor(index / options.highLowEvery) % 2 === 0
      mgDl = high ? 400 : 40
      status = high ? "high" : "low"
    }
    const withoutValue = options.nullEvery !== undefined && index % options.nullEvery === options.nullEvery - 1
    const rateMgDl = index % 4 === 3 ? null : oneDecimal(((index % 9) - 4) * 0.6)
    const value = withoutValue ? null : unit === "mmol/L" ? oneDecimal(mgDl / MG_DL_PER_MMOL_L) : mgDl
    const trendRate = rateMgDl === null ? null : unit === "mmol/L" ? oneDecimal(rateMgDl / MG_DL_PER_MMOL_L) : rateMgDl
    const systemTime = options.zoneLess ? wallClock(epochSeconds) : `${wallClock(epochSeconds)}Z`
    const displayTime = options.zoneLess
      ? wallClock(epochSeconds, offsetSeconds(offset))
      : `${wallClock(epochSeconds, offsetSeconds(offset))}${offset}`
    records.push({
      recordId,
      systemTime,
      displayTime,
      transmitterId: "fake-transmitter",
      transmitterTicks: 100_000 + index * cadence,
      value,
      status,
      trend,
      trendRate,
      unit,
      rateUnit: `${unit}/min`,
      displayDevice: "iOS",
      transmitterGeneration: "g7",
      displayApp: "G7",
      ...(options.unknownFields
        ? { sensorSession: { id: index, warmUp: false }, smoothedValue: "n/a", "x-extra": [1, 2, 3] }
        : {})
    })
    if (value === null) continue
    expected.push({
      epochSeconds,
      glucoseMgDl: unit === "mmol/L" ? Math.round(value * MG_DL_PER_MMOL_L) : value,
      trend,
      trendRate:
        trendRate === null
          ? null
          : unit === "mmol/L"
            ? Math.round(trendRate * MG_DL_PER_MMOL_L * 100) / 100
            : trendRate,
      status: status ?? "ok",
      recordId,
      displayTime
    })
  }
  return { records, expected }
}

/** A record whose value no CGM can read (a unit mix-up upstream): the adapter must reject it, not store it. */
export const impossibleRecord = (epochSeconds: number): DexcomRecord => ({
  recordId: `impossible-${epochSeconds}`,
  systemTime: `${wallClock(epochSeconds)}Z`,
  displayTime: `${wallClock(epochSeconds)}+00:00`,
  value: 900,
  status: null,
  trend: "flat",
  trendRate: 0,
  unit: "mg/dL",
  rateUnit: "mg/dL/min"
})
