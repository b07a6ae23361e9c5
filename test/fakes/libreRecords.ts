/**
 * Builds a FreeStyle Libre sensor's readings as LibreLinkUp serves them (docs/libre.md): one current reading
 * a minute, a history point every 5 minutes on the same grid (0–2 s off, with a slightly smoothed value), times in
 * the `M/D/YYYY h:mm:ss AM` format, `FactoryTimestamp` in UTC and `Timestamp` on the patient's phone in its zone.
 * Also the readings a correct adapter must make of them (the oracle of the tests), computed by other means than the
 * adapter's: `Intl` for the zone offsets.
 */

/** One measurement of the sensor. */
export interface LibreMeasurement {
  /** The instant (`FactoryTimestamp`), epoch milliseconds in whole seconds. */
  readonly epochMillis: number
  readonly valueMgDl: number | null
  /** 1–5 on current readings (0: not computable); history points have none. */
  readonly trendArrow: number | null
  readonly isHigh: boolean
  readonly isLow: boolean
}

/** A sensor: its current readings (one a minute) and its history (every 5 minutes). */
export interface LibreSensor {
  readonly minutes: ReadonlyArray<LibreMeasurement>
  readonly history: ReadonlyArray<LibreMeasurement>
}

export interface LibreSensorOptions {
  /** Epoch milliseconds of the first minute reading (whole seconds; its seconds are the sensor's phase). */
  readonly start: number
  /** How many minute readings. */
  readonly count: number
  readonly value?: (minute: number) => number
  /** Every n-th history point (point % n === n - 1) has no value. */
  readonly nullEvery?: number
  /** Every n-th history point (point % n === 1) is at the sensor's limit, flagged: isHigh, or alternately isLow. */
  readonly highLowEvery?: number
  /** Every n-th history point (point % n === 2) carries an impossible value (a unit mix-up upstream). */
  readonly impossibleEvery?: number
}

const defaultValue = (minute: number) => 110 + Math.round(60 * Math.sin(minute / 40))

/** A sensor's series: history points are the 5-minute readings, 0–2 s off their minute and smoothed by a unit. */
export const libreSensor = (options: LibreSensorOptions): LibreSensor => {
  const value = options.value ?? defaultValue
  const minutes: Array<LibreMeasurement> = []
  const history: Array<LibreMeasurement> = []
  for (let minute = 0; minute < options.count; minute++) {
    const epochMillis = options.start + minute * 60_000
    const mgDl = value(minute)
    minutes.push({
      epochMillis,
      valueMgDl: mgDl,
      trendArrow: minute % 7 === 6 ? 0 : 1 + (minute % 5),
      isHigh: false,
      isLow: false
    })
    if (minute % 5 !== 0) continue
    const point = minute / 5
    const offset = [0, -1, 1, -2, 2][point % 5]! * 1000
    let pointValue: number | null = mgDl + (point % 3) - 1
    let isHigh = false
    let isLow = false
    if (options.highLowEvery !== undefined && point % options.highLowEvery === 1) {
      isHigh = Math.floor(point / options.highLowEvery) % 2 === 0
      isLow = !isHigh
      pointValue = isHigh ? 400 : 40
    }
    if (options.impossibleEvery !== undefined && point % options.impossibleEvery === 2) pointValue = 900
    if (options.nullEvery !== undefined && point % options.nullEvery === options.nullEvery - 1) pointValue = null
    history.push({ epochMillis: epochMillis + offset, valueMgDl: pointValue, trendArrow: null, isHigh, isLow })
  }
  return { minutes, history }
}

const twoDigits = (n: number) => String(n).padStart(2, "0")

const usTime = (parts: {
  year: number
  month: number
  day: number
  hour: number
  minute: number
  second: number
}): string => {
  const hour12 = parts.hour % 12 === 0 ? 12 : parts.hour % 12
  const meridiem = parts.hour < 12 ? "AM" : "PM"
  return `${parts.month}/${parts.day}/${parts.year} ${hour12}:${twoDigits(parts.minute)}:${twoDigits(parts.second)} ${meridiem}`
}

/** `11/3/2024 2:05:17 AM`: an instant as `FactoryTimestamp` writes it (UTC). */
export const libreFactoryTime = (epochMillis: number): string => {
  const date = new Date(epochMillis)
  return usTime({
    year: date.getUTCFullYear(),
    month: date.getUTCMonth() + 1,
    day: date.getUTCDate(),
    hour: date.getUTCHours(),
    minute: date.getUTCMinutes(),
    second: date.getUTCSeconds()
  })
}

const zoneParts = (epochMillis: number, zone: string) => {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    year: "numeric",
    month: "numeric",
    day: "numeric",
    hour: "numeric",
    minute: "numeric",
    second: "numeric",
    hourCycle: "h23",
    timeZoneName: "longOffset"
  }).formatToParts(new Date(epochMillis))
  const get = (type: Intl.DateTimeFormatPartTypes) => parts.find((part) => part.type === type)?.value ?? ""
  return {
    year: Number(get("year")),
    month: Number(get("month")),
    day: Number(get("day")),
    hour: Number(get("hour")),
    minute: Number(get("minute")),
    second: Number(get("second")),
    // "GMT-04:00", or "GMT" for UTC itself.
    offset: get("timeZoneName") === "GMT" ? "+00:00" : get("timeZoneName").slice(3)
  }
}

/** `11/2/2024 10:05:17 PM`: an instant as `Timestamp` writes it, on a phone in `zone`. */
export const libreLocalTime = (epochMillis: number, zone: string): string => usTime(zoneParts(epochMillis, zone))

/** `2024-11-02T22:05:17-04:00`: the display time the adapter must give, computed by `Intl`. */
export const displayTimeIn = (epochMillis: number, zone: string): string => {
  const parts = zoneParts(epochMillis, zone)
  return `${parts.year}-${twoDigits(parts.month)}-${twoDigits(parts.day)}T${twoDigits(parts.hour)}:${twoDigits(parts.minute)}:${twoDigits(parts.second)}${parts.offset}`
}

export type LibreUnit = "mg/dL" | "mmol/L"

/** A glucose item as LibreLinkUp sends it: `type` 0 for a history point, 1 for the current reading. */
export const libreItemJson = (
  measurement: LibreMeasurement,
  options: { readonly zone: string; readonly unit: LibreUnit; readonly type: 0 | 1 }
) => ({
  FactoryTimestamp: libreFactoryTime(measurement.epochMillis),
  Timestamp: libreLocalTime(measurement.epochMillis, options.zone),
  type: options.type,
  ValueInMgPerDl: measurement.valueMgDl,
  ...(options.type === 1 ? { TrendArrow: measurement.trendArrow, TrendMessage: null } : {}),
  MeasurementColor: 1,
  GlucoseUnits: options.unit === "mg/dL" ? 1 : 0,
  Value:
    measurement.valueMgDl === null
      ? null
      : options.unit === "mg/dL"
        ? measurement.valueMgDl
        : Math.round((measurement.valueMgDl / 18.0156) * 10) / 10,
  isHigh: measurement.isHigh,
  isLow: measurement.isLow
})

/** What the adapter must store of one measurement. */
export interface ExpectedLibreReading {
  readonly epochSeconds: number
  readonly glucoseMgDl: number
  readonly trend: string
  readonly status: "ok" | "high" | "low"
  readonly displayTime: string | null
}

const ARROWS: Record<number, string> = {
  0: "notComputable",
  1: "singleDown",
  2: "fortyFiveDown",
  3: "flat",
  4: "fortyFiveUp",
  5: "singleUp"
}

/** Whether a measurement carries a value the adapter stores (not missing, within 20–600 mg/dL). */
export const isStorable = (measurement: LibreMeasurement): boolean =>
  measurement.valueMgDl !== null && measurement.valueMgDl >= 20 && measurement.valueMgDl <= 600

/**
 * The reading of a measurement: a history point has no trend (`none`); a current reading its arrow. `at` is where
 * it is stored when that is another record's instant (the current reading of the same minute, seen first), with
 * that record's trend and display time.
 */
export const expectedLibre = (
  measurement: LibreMeasurement,
  kind: "history" | "current",
  zone: string,
  at?: LibreMeasurement
): ExpectedLibreReading => {
  const place = at ?? measurement
  const trend =
    at !== undefined
      ? (ARROWS[at.trendArrow ?? 0] ?? "unknown")
      : kind === "history"
        ? "none"
        : (ARROWS[measurement.trendArrow ?? 0] ?? "unknown")
  return {
    epochSeconds: place.epochMillis / 1000,
    glucoseMgDl: measurement.valueMgDl!,
    trend,
    status: measurement.isHigh ? "high" : measurement.isLow ? "low" : "ok",
    displayTime: displayTimeIn(place.epochMillis, zone)
  }
}

/** The minute reading a history point was taken from (0–2 s away): the same sensor measurement. */
export const twinOf = (sensor: LibreSensor, point: LibreMeasurement): LibreMeasurement | undefined =>
  sensor.minutes.find((minute) => Math.abs(minute.epochMillis - point.epochMillis) <= 2000)
