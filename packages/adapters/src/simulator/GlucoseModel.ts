/**
 * A deterministic model of one person's CGM trace: a pure function of the user id and the time, so any window
 * asked twice gives the same readings, and tests can compare against it exactly.
 *
 * Ingredients: a personal baseline, three meals a day at the person's local times with day-to-day variation in
 * size and timing, the dawn rise, slow drifts, sensor noise, occasional overnight lows, 10-day sensor sessions
 * whose first 30 minutes have no value (warm-up), and occasional signal-loss gaps.
 */

export const CADENCE_SECONDS = 300
const SENSOR_SESSION_SECONDS = 10 * 86_400
const WARM_UP_SECONDS = 30 * 60
const DAY = 86_400

/** FNV-1a, 32 bits. */
export const hashString = (text: string): number => {
  let hash = 0x811c9dc5
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index)
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** A pseudo-random number in [0, 1) determined by its inputs (a 32-bit integer mix). */
const unit = (seed: number, a: number, b = 0): number => {
  let x = (seed ^ Math.imul(a | 0, 0x9e3779b1) ^ Math.imul(b | 0, 0x85ebca77)) >>> 0
  x = Math.imul(x ^ (x >>> 16), 0x7feb352d)
  x = Math.imul(x ^ (x >>> 15), 0x846ca68b)
  x ^= x >>> 16
  return (x >>> 0) / 4_294_967_296
}

export interface PersonProfile {
  readonly seed: number
  /** Offset of the person's local time from UTC, in minutes (for meals, nights and the display time). */
  readonly utcOffsetMinutes: number
  readonly baseline: number
  /** Seconds after a whole multiple of 5 minutes at which this person's sensor reads. */
  readonly phaseSeconds: number
  readonly mealSensitivity: number
}

const OFFSETS = [-480, -360, -300, -240, 0, 60, 120, 330, 540, 600]

export const profileOf = (userId: string): PersonProfile => {
  const seed = hashString(userId)
  return {
    seed,
    utcOffsetMinutes: OFFSETS[seed % OFFSETS.length]!,
    baseline: 95 + unit(seed, 1) * 45,
    phaseSeconds: Math.floor(unit(seed, 2) * CADENCE_SECONDS),
    mealSensitivity: 0.7 + unit(seed, 3) * 0.8
  }
}

/** Glucose response to a meal `minutes` after eating: rises over ~45–75 min, back down after ~3–4 h. */
const mealCurve = (minutes: number): number => {
  if (minutes <= 0 || minutes > 300) return 0
  const x = minutes / 60
  return x * x * Math.exp(-x * 1.6) * 2.6
}

const MEALS = [
  { hour: 7.5, size: 55 },
  { hour: 12.75, size: 65 },
  { hour: 19, size: 80 }
]

/** The unclamped glucose in mg/dL at `epochSeconds`. */
export const rawGlucose = (profile: PersonProfile, epochSeconds: number): number => {
  const local = epochSeconds + profile.utcOffsetMinutes * 60
  const day = Math.floor(local / DAY)
  const hourOfDay = (local - day * DAY) / 3600
  let value = profile.baseline
  // Meals of today and of yesterday evening (a late dinner still acts after midnight).
  for (const dayOffset of [0, -1]) {
    const mealDay = day + dayOffset
    MEALS.forEach((meal, index) => {
      const start = meal.hour + (unit(profile.seed, mealDay, 10 + index) - 0.5) * 1.5
      const size = meal.size * profile.mealSensitivity * (0.4 + unit(profile.seed, mealDay, 20 + index) * 1.2)
      // Now and then a meal is much larger than usual (a missed or late bolus): the highs of a real trace.
      const missedBolus = unit(profile.seed, mealDay, 25 + index) < 0.08 ? 2.2 : 1
      value += size * missedBolus * mealCurve((hourOfDay - dayOffset * 24 - start) * 60)
    })
  }
  // Dawn phenomenon.
  value += 18 * Math.exp(-(((hourOfDay - 6) / 1.4) ** 2))
  // Overnight low on about one night in six.
  if (unit(profile.seed, day, 30) < 0.17) {
    value -= 55 * Math.exp(-(((hourOfDay - 3) / 0.9) ** 2))
  }
  // Slow drifts with personal phases.
  value += 10 * Math.sin((2 * Math.PI * epochSeconds) / (7.3 * 3600) + profile.seed)
  value += 6 * Math.sin((2 * Math.PI * epochSeconds) / (2.1 * 3600) + profile.seed / 7)
  // Sensor noise, smooth between neighbouring readings.
  const step = Math.floor(epochSeconds / CADENCE_SECONDS)
  const fraction = epochSeconds / CADENCE_SECONDS - step
  const noise = (1 - fraction) * unit(profile.seed, step, 40) + fraction * unit(profile.seed, step + 1, 40)
  value += (noise - 0.5) * 8
  return value
}

export interface ModelReading {
  readonly epochSeconds: number
  /** Null during sensor warm-up: a record without a value. */
  readonly value: number | null
  readonly status: "ok" | "high" | "low"
  /** mg/dL per minute over the last 5 minutes. */
  readonly trendRate: number | null
  readonly sequence: number
}

const isInGap = (profile: PersonProfile, epochSeconds: number): boolean => {
  // About 3 % of two-hour blocks lose signal for 10–45 minutes.
  const block = Math.floor(epochSeconds / 7200)
  if (unit(profile.seed, block, 50) >= 0.03) return false
  const start = block * 7200 + Math.floor(unit(profile.seed, block, 51) * 5400)
  const length = (2 + Math.floor(unit(profile.seed, block, 52) * 8)) * CADENCE_SECONDS
  return epochSeconds >= start && epochSeconds < start + length
}

const clampToSensor = (raw: number): { value: number; status: "ok" | "high" | "low" } => {
  if (raw > 400) return { value: 400, status: "high" }
  if (raw < 40) return { value: 40, status: "low" }
  return { value: Math.round(raw), status: "ok" }
}

/** The records the person's sensor produced with `fromSeconds <= t < toSeconds`, oldest first. */
export const modelReadings = (
  profile: PersonProfile,
  fromSeconds: number,
  toSeconds: number
): ReadonlyArray<ModelReading> => {
  const readings: Array<ModelReading> = []
  const first = Math.ceil((fromSeconds - profile.phaseSeconds) / CADENCE_SECONDS)
  for (let sequence = first; ; sequence++) {
    const epochSeconds = sequence * CADENCE_SECONDS + profile.phaseSeconds
    if (epochSeconds >= toSeconds) break
    if (isInGap(profile, epochSeconds)) continue
    const sessionAge = (epochSeconds + profile.seed) % SENSOR_SESSION_SECONDS
    if (sessionAge < WARM_UP_SECONDS) {
      readings.push({ epochSeconds, value: null, status: "ok", trendRate: null, sequence })
      continue
    }
    const raw = rawGlucose(profile, epochSeconds)
    const previous = rawGlucose(profile, epochSeconds - CADENCE_SECONDS)
    const { value, status } = clampToSensor(raw)
    const trendRate = status === "ok" ? Math.round(((raw - previous) / 5) * 10) / 10 : null
    readings.push({ epochSeconds, value, status, trendRate, sequence })
  }
  return readings
}

/** `2026-02-01T00:00:00-08:00`: the instant as the person's display showed it. */
export const formatDisplayTime = (epochSeconds: number, utcOffsetMinutes: number): string => {
  const local = new Date((epochSeconds + utcOffsetMinutes * 60) * 1000).toISOString().slice(0, 19)
  const sign = utcOffsetMinutes < 0 ? "-" : "+"
  const absolute = Math.abs(utcOffsetMinutes)
  const hours = String(Math.floor(absolute / 60)).padStart(2, "0")
  const minutes = String(absolute % 60).padStart(2, "0")
  return `${local}${sign}${hours}:${minutes}`
}
