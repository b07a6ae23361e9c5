import { Schema } from "effect"

/** mg/dL per mmol/L, the factor Nightscout and Tidepool use. */
export const MG_DL_PER_MMOL_L = 18.01559

/**
 * Integer mg/dL. The bounds are wider than any CGM's reporting range (Dexcom 40–400, Libre 40–500,
 * meters up to 600) so that no real reading is rejected, yet a unit mix-up (a mmol/L value sent as
 * mg/dL, or a value in mg/L) is.
 */
export const GlucoseMgDl = Schema.Int.check(
  Schema.isBetween({ minimum: 20, maximum: 600 }, { expected: "an integer mg/dL between 20 and 600" })
)
export type GlucoseMgDl = typeof GlucoseMgDl.Type

export const GLUCOSE_MG_DL_MIN = 20
export const GLUCOSE_MG_DL_MAX = 600

export const mmolLToMgDl = (mmolL: number): number => Math.round(mmolL * MG_DL_PER_MMOL_L)
export const mgDlToMmolL = (mgDl: number): number => mgDl / MG_DL_PER_MMOL_L

export const Trends = [
  "doubleUp",
  "singleUp",
  "fortyFiveUp",
  "flat",
  "fortyFiveDown",
  "singleDown",
  "doubleDown",
  "notComputable",
  "rateOutOfRange",
  "none",
  "unknown"
] as const
export const Trend = Schema.Literals(Trends)
export type Trend = typeof Trend.Type

const trendByName = new Map<string, Trend>(Trends.map((trend) => [trend.toLowerCase(), trend]))

/** A trend by its name in any case (`Flat`, `DOUBLEUP`); `unknown` for anything else. */
export const trendFromName = (name: string | null | undefined): Trend =>
  (name === null || name === undefined ? undefined : trendByName.get(name.toLowerCase())) ?? "unknown"

/** Dexcom's trend numbers, used by Dexcom Share and Nightscout too: 0 none, 1 doubleUp … 7 doubleDown, 8, 9. */
export const TRENDS_BY_NUMBER: ReadonlyArray<Trend> = ["none", ...Trends.slice(0, 9)]

/** A trend by its Dexcom number (0–9); `unknown` for anything else. */
export const trendFromNumber = (value: number): Trend => TRENDS_BY_NUMBER[value] ?? "unknown"

export const GlucoseStatuses = ["ok", "high", "low", "unknown"] as const
export const GlucoseStatus = Schema.Literals(GlucoseStatuses)
export type GlucoseStatus = typeof GlucoseStatus.Type

const statusByName = new Map<string, GlucoseStatus>(GlucoseStatuses.map((status) => [status, status]))

/** A status by its name in any case; `unknown` for anything else. */
export const glucoseStatusFromName = (name: string): GlucoseStatus => statusByName.get(name.toLowerCase()) ?? "unknown"

/**
 * The arrow for a rate of change in mg/dL/min, with Dexcom's thresholds (1, 2 and 3 mg/dL/min).
 * Used by providers that give a rate but no arrow, and by the simulator.
 */
export const trendFromRate = (mgDlPerMinute: number | null): Trend => {
  if (mgDlPerMinute === null || !Number.isFinite(mgDlPerMinute)) return "notComputable"
  if (mgDlPerMinute > 3) return "doubleUp"
  if (mgDlPerMinute > 2) return "singleUp"
  if (mgDlPerMinute > 1) return "fortyFiveUp"
  if (mgDlPerMinute >= -1) return "flat"
  if (mgDlPerMinute >= -2) return "fortyFiveDown"
  if (mgDlPerMinute >= -3) return "singleDown"
  return "doubleDown"
}
