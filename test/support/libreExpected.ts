import { makeWindow, type Reading, ReadingStore, type UserId } from "@bg-ingest/domain"
import { DateTime, Effect } from "effect"
import {
  type ExpectedLibreReading,
  expectedLibre,
  isStorable,
  type LibreMeasurement,
  type LibreSensor
} from "../fakes/libreRecords.ts"

const MINUTE = 60_000
const HOUR = 60 * MINUTE

/** The current reading a poll at `at` sees: the sensor's newest minute reading (or the last before the phone left). */
export const currentAt = (sensor: LibreSensor, at: number, awaySince: number | null = null) =>
  sensor.minutes.filter((minute) => minute.epochMillis <= Math.min(at, awaySince ?? at)).at(-1)

/** A poll: its instant, and since when the patient's phone was away at that time (its readings stop there). */
export type LibrePoll = number | { readonly at: number; readonly awaySince: number }

/**
 * What the adapter must have stored after `polls` (the documented rule, stated independently): every storable
 * history point of the last poll's graph (the last 12 hours, up to 15 minutes before it, or the phone's leaving)
 * and the current reading each poll saw; a history point less than 20 s from a current reading seen earlier is
 * that measurement, kept at the current reading's instant with its arrow and the history's value.
 */
export const expectedAfterPolls = (
  sensor: LibreSensor,
  zone: string,
  polls: ReadonlyArray<LibrePoll>
): ReadonlyArray<ExpectedLibreReading> => {
  const timed = polls.map((poll) => (typeof poll === "number" ? { at: poll, awaySince: null } : poll))
  const last = timed.at(-1)!
  const currents = timed
    .map((poll) => currentAt(sensor, poll.at, poll.awaySince))
    .filter((current): current is LibreMeasurement => current !== undefined)
  const until = Math.min(last.at - 15 * MINUTE, last.awaySince ?? last.at)
  const history = sensor.history.filter(
    (point) => point.epochMillis >= last.at - 12 * HOUR && point.epochMillis <= until && isStorable(point)
  )
  const stored = new Map<number, ExpectedLibreReading>()
  for (const current of currents) stored.set(current.epochMillis, expectedLibre(current, "current", zone))
  for (const point of history) {
    const twin = currents.find((current) => Math.abs(current.epochMillis - point.epochMillis) < 20_000)
    stored.set(twin?.epochMillis ?? point.epochMillis, expectedLibre(point, "history", zone, twin))
  }
  return [...stored.entries()].sort(([a], [b]) => a - b).map(([, reading]) => reading)
}

export const asExpectedLibre = (reading: Reading): ExpectedLibreReading => ({
  epochSeconds: DateTime.toEpochMillis(reading.timestamp) / 1000,
  glucoseMgDl: reading.glucoseMgDl,
  trend: reading.trend,
  status: reading.status as ExpectedLibreReading["status"],
  displayTime: reading.displayTime
})

/** Every reading stored for the user, as the oracle writes them. */
export const storedLibre = (userId: UserId) =>
  ReadingStore.use((store) =>
    store.range(
      userId,
      makeWindow(DateTime.makeUnsafe(Date.UTC(2000, 0, 1)), DateTime.makeUnsafe(Date.UTC(2100, 0, 1))),
      100_000
    )
  ).pipe(Effect.map((readings) => readings.map(asExpectedLibre)))
