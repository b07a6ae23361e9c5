import {
  GlucoseMgDl,
  type GlucoseStatus,
  MG_DL_PER_MMOL_L,
  makeReading,
  mmolLToMgDl,
  type ProviderId,
  type Reading,
  type TimeWindow,
  type Trend,
  Trends,
  type UserId,
  windowContains
} from "@bg-ingest/domain"
import { DateTime, Option, Result, Schema } from "effect"
import type { DexcomEgvRecord } from "./DexcomSchemas.ts"
import { parseDexcomTime } from "./DexcomTime.ts"

/** A record whose value the domain refuses; its value is not kept, so it can be logged. */
export interface RejectedRecord {
  readonly recordId: string | null
  readonly systemTime: string
  readonly reason: string
}

export interface NormalizedEgvs {
  /** One reading per instant, inside the window, oldest first. */
  readonly readings: ReadonlyArray<Reading>
  readonly skippedWithoutValue: number
  readonly rejected: ReadonlyArray<RejectedRecord>
}

const trendByName = new Map<string, Trend>(Trends.map((trend) => [trend.toLowerCase(), trend]))
const statusByName = new Map<string, GlucoseStatus>([
  ["ok", "ok"],
  ["high", "high"],
  ["low", "low"],
  ["unknown", "unknown"]
])

type Unit = "mg/dL" | "mmol/L"

const unitOf = (text: string | null | undefined, fallback: Unit): Unit | undefined => {
  if (text === null || text === undefined || text === "") return fallback
  const normalized = text.toLowerCase().replace(/\/min$/, "")
  if (normalized === "mg/dl") return "mg/dL"
  if (normalized === "mmol/l") return "mmol/L"
  return undefined
}

const isGlucose = Schema.is(GlucoseMgDl)

/** Two decimals: enough for a rate, without the float noise of a unit conversion. */
const roundRate = (rate: number) => Math.round(rate * 100) / 100

/**
 * Dexcom EGV records → readings (guides/dexcom.md §1): `systemTime` is the instant (zone-less means UTC);
 * records without a value are counted and skipped; mmol/L values and rates are converted to integer mg/dL and
 * mg/dL/min; high/low statuses are kept; every trend is mapped, unknown ones to `unknown`; `displayTime` is kept
 * verbatim; records outside the window are dropped; two records at one instant keep the one whose record id
 * sorts last, so the answer does not depend on the order Dexcom sent them in. Fails (with the reason) when a
 * record cannot be read at all: an unparseable time or an unknown unit, which would make every value suspect.
 */
export const normalizeEgvs = (
  provider: ProviderId,
  userId: UserId,
  records: ReadonlyArray<DexcomEgvRecord>,
  window: TimeWindow
): Result.Result<NormalizedEgvs, string> => {
  // Dexcom may repeat a record within an answer; each is counted once, by its instant.
  const withoutValue = new Set<number>()
  const rejected = new Map<number, RejectedRecord>()
  const byInstant = new Map<number, Reading>()
  for (const record of records) {
    const instant = parseDexcomTime(record.systemTime)
    if (Option.isNone(instant)) return Result.fail(`a record has an unreadable systemTime "${record.systemTime}"`)
    const unit = unitOf(record.unit, "mg/dL")
    const rateUnit = unit === undefined ? undefined : unitOf(record.rateUnit, unit)
    if (unit === undefined || rateUnit === undefined) {
      return Result.fail(`a record has an unknown unit "${record.unit ?? ""}" / "${record.rateUnit ?? ""}"`)
    }
    if (!windowContains(window, instant.value)) continue
    const instantMillis = Math.floor(DateTime.toEpochMillis(instant.value) / 1000) * 1000
    if (record.value === null || record.value === undefined) {
      withoutValue.add(instantMillis)
      continue
    }
    const glucoseMgDl = unit === "mmol/L" ? mmolLToMgDl(record.value) : Math.round(record.value)
    const recordId = record.recordId ?? null
    if (!isGlucose(glucoseMgDl)) {
      rejected.set(instantMillis, { recordId, systemTime: record.systemTime, reason: "value outside 20–600 mg/dL" })
      continue
    }
    const trendRate =
      record.trendRate === null || record.trendRate === undefined
        ? null
        : rateUnit === "mmol/L"
          ? roundRate(record.trendRate * MG_DL_PER_MMOL_L)
          : record.trendRate
    const reading = makeReading({
      userId,
      timestamp: instant.value,
      glucoseMgDl,
      trend: trendByName.get((record.trend ?? "").toLowerCase()) ?? "unknown",
      trendRate,
      status:
        record.status === null || record.status === undefined
          ? "ok"
          : (statusByName.get(record.status.toLowerCase()) ?? "unknown"),
      source: { provider, recordId },
      displayTime: record.displayTime ?? null
    })
    const existing = byInstant.get(instantMillis)
    if (existing === undefined || (existing.source.recordId ?? "") < (recordId ?? "")) {
      byInstant.set(instantMillis, reading)
    }
  }
  const readings = [...byInstant.entries()].sort(([a], [b]) => a - b).map(([, reading]) => reading)
  // An instant with a valid reading is not also counted as skipped or rejected.
  const notRead = (instantMillis: number) => !byInstant.has(instantMillis)
  return Result.succeed({
    readings,
    skippedWithoutValue: [...withoutValue].filter(notRead).length,
    rejected: [...rejected.entries()].filter(([at]) => notRead(at)).map(([, record]) => record)
  })
}
