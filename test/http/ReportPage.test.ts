import { dailyCurves, makeWindow, summarize, TimeZoneName } from "@bg-ingest/domain"
import { renderReport } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { at, every, times, windowOf } from "../support/glucoseSeries.ts"

const window = windowOf("2025-06-02T00:00:00Z", "2025-06-03T00:00:00Z")
const zone = TimeZoneName.make("UTC")
const points = every(at("2025-06-02T00:00:00Z"), 300, [...times(100, 60), ...times(188, 200)])

const page = (userId: string) => {
  const summary = summarize(points, window, zone)
  return renderReport({ userId, summary, days: dailyCurves(points, window, zone, summary.intervalSeconds) })
}

describe("the report page", () => {
  it("escapes the text it is given: a user id never becomes markup", () => {
    const html = page(`<script>alert("x")</script>&'`)
    assert.notInclude(html, "<script>")
    assert.include(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;")
  })

  it("judges the consensus goals on exact counts", () => {
    // 100 of 288 readings below 70 (34.7 %), 188 in 181–250, so 65.3 % above 180.
    const html = page("u1")
    assert.include(html, "34.7 % below 70, goal &lt; 4 % ✗ not met")
    assert.include(html, "65.3 % above 180, goal &lt; 25 % ✗ not met")
    assert.include(html, "goal &lt; 1 % ✓ met")
  })

  it("an empty window says so and draws no chart", () => {
    const summary = summarize([], makeWindow(window.from, window.to), zone)
    const html = renderReport({ userId: "u1", summary, days: [] })
    assert.include(html, "No readings in this period.")
    assert.notInclude(html, "<svg")
  })
})
