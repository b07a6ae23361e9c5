import { type GlucosePoint, makeWindow, type TimeWindow } from "@bg-ingest/domain"
import { DateTime } from "effect"
import * as fc from "fast-check"

/** Zones with daylight saving time, without it, and with half-hour and 45-minute offsets (Lord Howe shifts by 30). */
export const ZONES = [
  "UTC",
  "Europe/Berlin",
  "America/New_York",
  "America/St_Johns",
  "Asia/Kolkata",
  "Asia/Kathmandu",
  "Australia/Lord_Howe",
  "Pacific/Chatham"
] as const

/** Zones whose offset has not changed in the years the arbitraries cover: shifting by a day changes nothing there. */
export const FIXED_OFFSET_ZONES = ["UTC", "Asia/Kolkata", "Asia/Kathmandu"] as const

const FIRST = Date.UTC(2024, 0, 1) / 1000
const LAST = Date.UTC(2026, 0, 1) / 1000

export interface Case {
  readonly points: ReadonlyArray<GlucosePoint>
  readonly window: TimeWindow
  readonly zone: string
  readonly cadence: number
}

/** Values in runs of equal readings, often low and often at the ranges' bounds, so that events and bounds occur. */
const values = (count: number) =>
  fc
    .array(
      fc.record({
        value: fc.oneof(
          { weight: 3, arbitrary: fc.integer({ min: 40, max: 400 }) },
          { weight: 3, arbitrary: fc.integer({ min: 40, max: 80 }) },
          { weight: 2, arbitrary: fc.constantFrom(53, 54, 69, 70, 140, 141, 180, 181, 250, 251) },
          { weight: 1, arbitrary: fc.integer({ min: 20, max: 600 }) }
        ),
        length: fc.integer({ min: 1, max: 8 })
      }),
      { minLength: 1, maxLength: count }
    )
    .map((runs) => runs.flatMap((run) => Array.from({ length: run.length }, () => run.value)).slice(0, count))

/** The step to each next reading: mostly the cadence, sometimes a few seconds off, sometimes a gap. */
const steps = (cadence: number, count: number, irregular: boolean) =>
  irregular
    ? fc.array(
        fc.oneof(
          { weight: 12, arbitrary: fc.constant(cadence) },
          { weight: 2, arbitrary: fc.integer({ min: cadence - 5, max: cadence + 5 }) },
          { weight: 1, arbitrary: fc.integer({ min: 2 * cadence, max: 3 * cadence }) },
          { weight: 1, arbitrary: fc.integer({ min: 3 * cadence, max: 40 * cadence }) }
        ),
        { minLength: count, maxLength: count }
      )
    : fc.constant(Array.from({ length: count }, () => cadence))

export interface CaseOptions {
  readonly zones?: ReadonlyArray<string>
  readonly maxReadings?: number
  /** Jitter and gaps between readings (default true). */
  readonly irregular?: boolean
}

/** One user's readings in a window that may cut the series, in a zone, anywhere in 2024–2025. */
export const caseArbitrary = (options: CaseOptions = {}): fc.Arbitrary<Case> =>
  fc
    .record({
      zone: fc.constantFrom(...(options.zones ?? ZONES)),
      cadence: fc.constantFrom(60, 300, 300, 900),
      count: fc.integer({ min: 0, max: options.maxReadings ?? 400 }),
      start: fc.integer({ min: FIRST, max: LAST })
    })
    .chain(({ zone, cadence, count, start }) =>
      fc.record({
        zone: fc.constant(zone),
        cadence: fc.constant(cadence),
        start: fc.constant(start),
        values: values(Math.max(count, 1)).map((all) => all.slice(0, count)),
        steps: steps(cadence, count, options.irregular ?? true),
        before: fc.integer({ min: -3600, max: 86_400 }),
        after: fc.integer({ min: -3600, max: 86_400 })
      })
    )
    .map(({ zone, cadence, start, values, steps, before, after }) => {
      let at = start
      const points = values.map((glucoseMgDl, index) => {
        if (index > 0) at += steps[index]!
        return { timestamp: DateTime.makeUnsafe(at * 1000), glucoseMgDl }
      })
      const from = start - before
      const to = Math.max(from, at + 1 + after)
      return {
        points,
        window: makeWindow(DateTime.makeUnsafe(from * 1000), DateTime.makeUnsafe(to * 1000)),
        zone,
        cadence
      }
    })

/** A deterministic shuffle (Fisher–Yates driven by a seed), to reorder readings. */
export const shuffled = <A>(items: ReadonlyArray<A>, seed: number): Array<A> => {
  const result = [...items]
  let state = seed >>> 0 || 1
  for (let i = result.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0
    const j = state % (i + 1)
    ;[result[i], result[j]] = [result[j]!, result[i]!]
  }
  return result
}
