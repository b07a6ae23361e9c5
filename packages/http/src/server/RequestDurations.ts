import { Context } from "effect"

const BOUNDARIES = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
const HISTOGRAM = "bg_ingest_http_request_duration_seconds"

interface Series {
  readonly labels: string
  readonly buckets: Float64Array
  sum: number
  count: number
}

/**
 * A request-duration histogram, by method, route pattern and status, kept in plain arrays: it is updated on
 * every request, where an Effect metric update (attribute hashing, registry lookup) cost 3 µs of a 45 µs `latest`
 * (bench/http.ts). `/metrics` appends its Prometheus text to the Effect metrics'.
 */
export class DurationHistogram {
  private readonly series = new Map<string, Series>()

  observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${route} ${status}`
    let series = this.series.get(key)
    if (series === undefined) {
      const labels = `method="${method}",route="${route.replaceAll('"', '\\"')}",status="${status}"`
      series = { labels, buckets: new Float64Array(BOUNDARIES.length), sum: 0, count: 0 }
      this.series.set(key, series)
    }
    for (let index = 0; index < BOUNDARIES.length; index++)
      if (seconds <= BOUNDARIES[index]!) series.buckets[index]! += 1
    series.sum += seconds
    series.count += 1
  }

  /** Prometheus text exposition of the histogram. */
  render(): string {
    const lines = [
      `# HELP ${HISTOGRAM} HTTP request durations by method, route and status`,
      `# TYPE ${HISTOGRAM} histogram`
    ]
    for (const { labels, buckets, sum, count } of this.series.values()) {
      for (const [index, boundary] of BOUNDARIES.entries()) {
        lines.push(`${HISTOGRAM}_bucket{${labels},le="${boundary}"} ${buckets[index]}`)
      }
      lines.push(`${HISTOGRAM}_bucket{${labels},le="+Inf"} ${count}`)
      lines.push(`${HISTOGRAM}_sum{${labels}} ${sum}`)
      lines.push(`${HISTOGRAM}_count{${labels}} ${count}`)
    }
    return `${lines.join("\n")}\n`
  }
}

/**
 * The process's request durations: written where requests are observed (the runner's `observeRequests`, at the
 * Node server's edge), rendered by `/metrics`.
 */
export const RequestDurations = Context.Reference<DurationHistogram>("@bg-ingest/http/server/RequestDurations", {
  defaultValue: () => new DurationHistogram()
})
