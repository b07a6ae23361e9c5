import { dailyCurves, TimeZoneName } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import { at, every, times, windowOf } from "../../support/glucoseSeries.ts"

const curves = (from: string, to: string, zone: string, points = every(at(from), 300, [])) =>
  dailyCurves(points, windowOf(from, to), TimeZoneName.make(zone), 300)

describe("daily curves in local days", () => {
  it("lists every local day of the window, with or without readings, and its length in hours", () => {
    const berlin = curves("2025-03-28T23:00:00Z", "2025-04-01T22:00:00Z", "Europe/Berlin")
    assert.deepStrictEqual(
      berlin.map((day) => [day.date, day.hours, day.points.length]),
      [
        ["2025-03-29", 24, 0],
        ["2025-03-30", 23, 0],
        ["2025-03-31", 24, 0],
        ["2025-04-01", 24, 0]
      ]
    )
    const autumn = curves("2025-10-25T22:00:00Z", "2025-10-26T23:00:00Z", "Europe/Berlin")
    assert.deepStrictEqual(
      autumn.map((day) => [day.date, day.hours]),
      [["2025-10-26", 25]]
    )
    const lordHowe = curves("2025-04-05T13:00:00Z", "2025-04-06T13:30:00Z", "Australia/Lord_Howe")
    assert.deepStrictEqual(
      lordHowe.map((day) => [day.date, day.hours]),
      [["2025-04-06", 24.5]]
    )
    // A window that starts and ends inside days lists those days.
    assert.deepStrictEqual(
      curves("2025-06-02T10:00:00Z", "2025-06-04T01:00:00Z", "UTC").map((day) => day.date),
      ["2025-06-02", "2025-06-03", "2025-06-04"]
    )
    assert.deepStrictEqual(curves("2025-06-02T10:00:00Z", "2025-06-02T10:00:00Z", "UTC"), [])
  })

  it("puts each reading in its local day at its local minute", () => {
    const points = every(at("2025-06-01T18:00:00Z"), 1800, times(3, 100)) // 23:30, 00:00 and 00:30 in Kolkata
    const days = curves("2025-06-01T00:00:00Z", "2025-06-03T00:00:00Z", "Asia/Kolkata", points)
    assert.deepStrictEqual(
      days.map((day) => [day.date, day.points.map((point) => point.minute)]),
      [
        ["2025-06-01", [1410]],
        ["2025-06-02", [0, 30]],
        ["2025-06-03", []]
      ]
    )
  })

  it("breaks a curve at a gap of more than 2 intervals and where clocks go back", () => {
    const points = [
      ...every(at("2025-06-02T00:00:00Z"), 300, [100, 110, 120]),
      { timestamp: at("2025-06-02T00:20:00Z"), glucoseMgDl: 130 }, // 10 minutes later: joined
      { timestamp: at("2025-06-02T00:31:00Z"), glucoseMgDl: 140 } // 11 minutes later: broken
    ]
    const [day] = curves("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z", "UTC", points)
    assert.deepStrictEqual(
      day!.points.map((point) => point.joined),
      [false, true, true, true, false]
    )
    // Berlin, 26 October 2025: 02:55 CEST is followed by 02:00 CET.
    const fallBack = every(at("2025-10-26T00:50:00Z"), 300, times(4, 100))
    const [autumn] = curves("2025-10-25T22:00:00Z", "2025-10-26T23:00:00Z", "Europe/Berlin", fallBack)
    assert.deepStrictEqual(
      autumn!.points.map((point) => [point.minute, point.joined]),
      [
        [170, false],
        [175, true],
        [120, false],
        [125, true]
      ]
    )
    assert.strictEqual(DateTime.toEpochMillis(fallBack[2]!.timestamp), Date.UTC(2025, 9, 26, 1, 0))
  })
})
