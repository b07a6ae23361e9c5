import {
  glucoseStatusFromName,
  MG_DL_PER_MMOL_L,
  mmolLToMgDl,
  type Reading,
  RecordReading,
  recordNormalizer,
  trendFromName
} from "@bg-ingest/domain"
import { Option, Order } from "effect"
import type { DexcomEgvRecord } from "./DexcomSchemas.ts"
import { parseDexcomTime } from "./DexcomTime.ts"

type Unit = "mg/dL" | "mmol/L"

const unitOf = (text: string | null | undefined, fallback: Unit): Unit | undefined => {
  if (text === null || text === undefined || text === "") return fallback
  const normalized = text.toLowerCase().replace(/\/min$/, "")
  if (normalized === "mg/dl") return "mg/dL"
  if (normalized === "mmol/l") return "mmol/L"
  return undefined
}

/** Two decimals: enough for a rate, without the float noise of a unit conversion. */
const roundRate = (rate: number) => Math.round(rate * 100) / 100

/**
 * One Dexcom EGV record: `systemTime` is the instant (zone-less means UTC); mmol/L values and rates are converted
 * to mg/dL and mg/dL/min; a missing status is `ok`, high/low are kept; every trend name is mapped, unknown ones to
 * `unknown`; `displayTime` is kept verbatim. An unparseable time or an unknown unit makes the record unreadable.
 */
export const readEgvRecord = (record: DexcomEgvRecord): RecordReading => {
  const instant = parseDexcomTime(record.systemTime)
  if (Option.isNone(instant))
    return RecordReading.unreadable(`a record has an unreadable systemTime "${record.systemTime}"`)
  const unit = unitOf(record.unit, "mg/dL")
  const rateUnit = unit === undefined ? undefined : unitOf(record.rateUnit, unit)
  if (unit === undefined || rateUnit === undefined) {
    return RecordReading.unreadable(`a record has an unknown unit "${record.unit ?? ""}" / "${record.rateUnit ?? ""}"`)
  }
  if (record.value === null || record.value === undefined) return RecordReading.withoutValue(instant.value)
  return RecordReading.measurement({
    instant: instant.value,
    mgDl: unit === "mmol/L" ? mmolLToMgDl(record.value) : record.value,
    trend: trendFromName(record.trend),
    trendRate:
      record.trendRate === null || record.trendRate === undefined
        ? null
        : rateUnit === "mmol/L"
          ? roundRate(record.trendRate * MG_DL_PER_MMOL_L)
          : record.trendRate,
    status: record.status === null || record.status === undefined ? "ok" : glucoseStatusFromName(record.status),
    recordId: record.recordId ?? null,
    displayTime: record.displayTime ?? null
  })
}

/** Of two records at one instant, the one whose record id sorts last: Dexcom's order of records does not matter. */
const byRecordId: Order.Order<Reading> = Order.mapInput(
  Order.String,
  (reading: Reading) => reading.source.recordId ?? ""
)

/**
 * Dexcom EGV records → readings, one per instant inside the window, oldest first (`normalizeRecords`). Fails with
 * the reason when a record cannot be read at all.
 */
export const normalizeEgvs = recordNormalizer(readEgvRecord, byRecordId)
