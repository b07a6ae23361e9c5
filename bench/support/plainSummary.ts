/**
 * The summary benchmark's baseline: the same figures computed the plain way, in loops over the store's rows
 * (`ts` in epoch seconds, ascending, and `glucose_mg_dl`), with no framework and no schema. Offsets of the zone are
 * cached per UTC hour; rounding is half up on floating point, which agrees with the service's exact rounding except
 * at exact halves that floating point misses (the benchmark reports any difference).
 */

export interface Row {
  readonly ts: number
  readonly glucose_mg_dl: number
}

const half = (value: number, decimals: number) => {
  const scale = 10 ** decimals
  return Math.floor(value * scale + 0.5 + 1e-9) / scale
}

const OFFSET = /GMT(?:([+-])(\d{1,2})(?::(\d{2}))?)?/

const offsets = (timeZone: string) => {
  const format = new Intl.DateTimeFormat("en-US", { timeZone, timeZoneName: "longOffset" })
  const byHour = new Map<number, number>()
  return (seconds: number) => {
    const hour = Math.floor(seconds / 3600)
    let offset = byHour.get(hour)
    if (offset === undefined) {
      const match = OFFSET.exec(format.format(hour * 3_600_000))!
      offset =
        match[1] === undefined
          ? 0
          : (match[1] === "-" ? -1 : 1) * (Number(match[2]) * 3600 + Number(match[3] ?? 0) * 60)
      byHour.set(hour, offset)
    }
    return offset
  }
}

const events = (rows: ReadonlyArray<Row>, interval: number, threshold: number) => {
  let count = 0
  let inEvent = false
  let start = -1
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!
    const against = inEvent ? row.glucose_mg_dl >= threshold : row.glucose_mg_dl < threshold
    if (!against) {
      start = -1
      continue
    }
    if (start < 0 || row.ts - rows[i - 1]!.ts > 2 * interval) start = row.ts
    if (row.ts - start + interval >= 900) {
      if (!inEvent) count++
      inEvent = !inEvent
      start = -1
    }
  }
  return count
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => {
  const h = (sorted.length - 1) * (p / 100)
  const low = Math.floor(h)
  return low + 1 < sorted.length ? sorted[low]! + (h - low) * (sorted[low + 1]! - sorted[low]!) : sorted[low]!
}

/** The summary's JSON, computed in plain loops. */
export const plainSummary = (rows: ReadonlyArray<Row>, fromMs: number, toMs: number, timeZone: string) => {
  const n = rows.length
  const iso = (ms: number) => `${new Date(ms).toISOString().slice(0, 19)}Z`
  if (n === 0) return { from: iso(fromMs), to: iso(toMs), tz: timeZone, readings: 0 }
  let sum = 0
  let squares = 0
  const counts = [0, 0, 0, 0, 0, 0]
  const gaps = new Map<number, number>()
  const bins: Array<Array<number>> = Array.from({ length: 96 }, () => [])
  const offsetAt = offsets(timeZone)
  for (let i = 0; i < n; i++) {
    const { ts, glucose_mg_dl: value } = rows[i]!
    sum += value
    squares += value * value
    counts[value < 54 ? 0 : value < 70 ? 1 : value <= 180 ? 2 : value <= 250 ? 3 : 4]!++
    if (value >= 70 && value <= 140) counts[5]!++
    if (i > 0) gaps.set(ts - rows[i - 1]!.ts, (gaps.get(ts - rows[i - 1]!.ts) ?? 0) + 1)
    const local = ts + offsetAt(ts)
    bins[Math.floor((((local % 86_400) + 86_400) % 86_400) / 900)]!.push(value)
  }
  let interval = 0
  let seen = 0
  for (const [gap, count] of gaps)
    if (gap > 0 && (count > seen || (count === seen && gap < interval))) [interval, seen] = [gap, count]
  const mean = sum / n
  const sd = Math.sqrt((squares - n * mean * mean) / (n - 1))
  const percent = (count: number) => half((100 * count) / n, 1)
  return {
    from: iso(fromMs),
    to: iso(toMs),
    tz: timeZone,
    readings: n,
    active_percent: Math.min(100, half((100 * n * interval * 1000) / (toMs - fromMs), 1)),
    mean_mg_dl: half(mean, 1),
    sd_mg_dl: half(sd, 1),
    cv_percent: half((100 * sd) / mean, 1),
    gmi_percent: half(3.31 + 0.02392 * mean, 2),
    time_in_range: {
      very_low_percent: percent(counts[0]!),
      low_percent: percent(counts[1]!),
      target_percent: percent(counts[2]!),
      high_percent: percent(counts[3]!),
      very_high_percent: percent(counts[4]!),
      tight_target_percent: percent(counts[5]!)
    },
    hypoglycemia_events: { level_1: events(rows, interval, 70), level_2: events(rows, interval, 54) },
    agp: bins.flatMap((values, bin) => {
      if (values.length === 0) return []
      const sorted = values.sort((a, b) => a - b)
      const [p5, p25, p50, p75, p95] = [5, 25, 50, 75, 95].map((p) => half(percentile(sorted, p), 1))
      return [{ minute: bin * 15, n: values.length, p5, p25, p50, p75, p95 }]
    })
  }
}
