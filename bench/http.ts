/**
 * The read endpoints under load: `GET /api/bg/:userId/latest`, the 24-hour range (288 readings) and the 90-day
 * range (25,920 readings), next to a bare `node:http` + `node:sqlite` server answering the same bytes (body and
 * headers) from the same database file, in the configurations users run:
 * - **lean**: the composition root (`appLayer`, SQLite, in its own process) without demo users (support/serviceServer.ts);
 * - **npm start**: the real entry point as `npm start` runs it, development defaults: three demo users seeded and
 *   polled, the scheduler on, pretty logs at Info;
 * - **production**: as production serves reads: API keys required (every request presents one), JSON logs at
 *   Info, secure cookies, the scheduler on; on SQLite (see support/serviceServer.ts).
 * Load comes from wrk (`-t2 -c50`) in a third process on loopback; rounds alternate between the two servers.
 *
 *   node --conditions=@bg-ingest/source bench/http.ts [--record]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import {
  BENCH_USER,
  currentAnchorSeconds,
  NINETY_DAYS_OF_READINGS,
  prefillDatabase,
  windowQuery
} from "./support/dataset.ts"
import { type LoadResult, load } from "./support/load.ts"
import { recordRequested, runBenchmarks } from "./support/main.ts"
import { cpuMillis, freePort, type NodeProcess, startNode, waitUntilOk } from "./support/processes.ts"
import { atLeast, atMost, duration, formatRatio, type Row, rate, show, spread } from "./support/report.ts"
import { alternate, type Paired, settings } from "./support/rounds.ts"
import { BENCH_API_KEY_HEADER, startDevelopment, startProduction, startService } from "./support/service.ts"
import { median, pairedRatios } from "./support/stats.ts"

/** BENCH_HTTP=latest,24h,90d (the default) chooses the endpoints. */
const selected = (endpoint: "latest" | "24h" | "90d") =>
  (process.env.BENCH_HTTP ?? "latest,24h,90d").split(",").includes(endpoint)

/** Users besides the benchmark user, 90 days each, so that the readings table is not trivially small. */
const OTHER_USERS = Number(process.env.BENCH_OTHER_USERS ?? 9)

interface Server {
  readonly url: string
  readonly pid: number
  /** Headers every request carries (the production configuration's API key). */
  readonly headers: ReadonlyArray<string>
}

interface Servers {
  readonly bare: Server
  readonly service: Server
}

/** A configuration of the service, started over the prepared data directory. */
interface Configuration {
  /** How rows name it. */
  readonly label: string
  /** BENCH_CONFIGS=lean,start,production (the default) chooses the configurations. */
  readonly key: "lean" | "start" | "production"
  readonly start: (dataDir: string) => Promise<{ readonly process: NodeProcess; readonly url: string }>
  readonly headers: ReadonlyArray<string>
  /** Whether the 90-day range is measured on it too (1 connection: the JSON of 25,920 rows, the same path). */
  readonly ninetyDays: boolean
}

export const CONFIGURATIONS: ReadonlyArray<Configuration> = [
  { label: "lean", key: "lean", start: (dataDir) => startService(dataDir), headers: [], ninetyDays: true },
  {
    label: "npm start",
    key: "start",
    start: (dataDir) => startDevelopment(dataDir),
    headers: [],
    ninetyDays: false
  },
  {
    label: "production",
    key: "production",
    start: (dataDir) => startProduction(dataDir),
    headers: [BENCH_API_KEY_HEADER],
    ninetyDays: false
  }
]

const chosenConfigurations = () => {
  const keys = (process.env.BENCH_CONFIGS ?? "lean,start,production").split(",")
  return CONFIGURATIONS.filter((configuration) => keys.includes(configuration.key))
}

const startBare = async (dataDir: string): Promise<{ server: Server; process: NodeProcess }> => {
  const port = await freePort()
  const bare = startNode([], "bench/support/bareServer.ts", [join(dataDir, "bg-ingest.db"), String(port)])
  try {
    await waitUntilOk(bare, `http://127.0.0.1:${port}/ready`, performance.now())
  } catch (error) {
    await bare.stop()
    throw error
  }
  return { server: { url: `http://127.0.0.1:${port}`, pid: bare.pid, headers: [] }, process: bare }
}

/** Headers whose value is per connection or per moment: the rest must be the same names on both servers. */
const TRANSPORT_HEADERS = new Set(["date", "connection", "keep-alive"])

const headerObject = (headers: ReadonlyArray<string>) =>
  Object.fromEntries(
    headers.map((header) => {
      const at = header.indexOf(":")
      return [header.slice(0, at).trim(), header.slice(at + 1).trim()]
    })
  )

/**
 * Both servers must answer the same bytes, or the comparison means nothing: the same status, the same body
 * bytes, and the same headers (names; their values too but for the request id, which is each answer's own).
 * Returns what differs, or undefined.
 */
export const compareAnswers = async (servers: Servers, path: string, expectedReadings: number) => {
  const [bare, service] = await Promise.all(
    [servers.bare, servers.service].map(async (server) => {
      const response = await fetch(`${server.url}${path}`, { headers: headerObject(server.headers) })
      const headers = new Map(
        [...response.headers].filter(([name]) => !TRANSPORT_HEADERS.has(name) && name !== "x-request-id")
      )
      return {
        status: response.status,
        headers,
        requestId: response.headers.get("x-request-id"),
        body: await response.text()
      }
    })
  )
  if (bare!.status !== 200 || service!.status !== 200) {
    throw new Error(`${path}: answered ${bare!.status} (bare) and ${service!.status} (service)`)
  }
  const parsed = JSON.parse(service!.body) as unknown
  const count = Array.isArray(parsed) ? parsed.length : 1
  if (count !== expectedReadings) throw new Error(`${path}: ${count} readings, expected ${expectedReadings}`)
  if (bare!.body !== service!.body) {
    const at = [...bare!.body].findIndex((char, index) => char !== service!.body[index])
    return `the bodies differ from byte ${at}: bare …${bare!.body.slice(at, at + 60)}… service …${service!.body.slice(at, at + 60)}…`
  }
  const names = new Set([...bare!.headers.keys(), ...service!.headers.keys()])
  const differing = [...names].filter((name) => bare!.headers.get(name) !== service!.headers.get(name))
  if (differing.length > 0) return `headers differ: ${differing.join(", ")}`
  if ((bare!.requestId === null) !== (service!.requestId === null)) return "only one answer carries a request id"
  return undefined
}

interface Endpoint {
  readonly name: string
  readonly path: string
  readonly readings: number
  readonly connections: number
}

interface Measurement extends LoadResult {
  /** The server's CPU time per answered request: unlike req/s, barely moved by other load on the machine. */
  readonly cpuMsPerRequest: number
}

const measureEndpoint = async (servers: Servers, endpoint: Endpoint) => {
  const measure = (server: Server) => async (): Promise<Measurement> => {
    const url = `${server.url}${endpoint.path}`
    const options = { url, connections: endpoint.connections, headers: server.headers }
    await load({ ...options, seconds: 1 })
    const cpuBefore = cpuMillis(server.pid)
    const result = await load({ ...options, seconds: settings.seconds })
    return { ...result, cpuMsPerRequest: (cpuMillis(server.pid) - cpuBefore) / result.requests }
  }
  for (const server of [servers.bare, servers.service]) {
    await load({
      url: `${server.url}${endpoint.path}`,
      connections: endpoint.connections,
      headers: server.headers,
      seconds: settings.warmupSeconds
    })
  }
  return alternate(settings.rounds, measure(servers.bare), measure(servers.service))
}

const errorNote = (results: Results) => {
  const bare = results.baseline.reduce((sum, result) => sum + result.errors, 0)
  const service = results.target.reduce((sum, result) => sum + result.errors, 0)
  return bare + service === 0 ? undefined : `errors or non-2xx answers: ${service} (service), ${bare} (bare)`
}

const joinNotes = (...notes: ReadonlyArray<string | undefined>) => {
  const present = notes.filter((note): note is string => note !== undefined)
  return present.length === 0 ? {} : { note: present.join("; ") }
}

type Results = Paired<Measurement>

const throughputRow = (name: string, results: Results, difference?: string): Row => {
  const target = results.target.map((result) => result.requestsPerSecond)
  const baseline = results.baseline.map((result) => result.requestsPerSecond)
  const ratio = median(pairedRatios(target, baseline))
  const quantity = rate("req", median(baseline))
  return {
    benchmark: `${name}, req/s`,
    figure: spread(quantity, target),
    baseline: show(quantity, median(baseline)),
    ratio: formatRatio(ratio),
    target: "≥ 0.60×",
    // Answers that are not the same bytes are not a comparison: a miss whatever the ratio.
    verdict: difference === undefined ? atLeast(ratio, 0.6) : "miss",
    ...joinNotes(errorNote(results), difference === undefined ? "same status, headers and body bytes" : difference)
  }
}

const timeRow = (
  name: string,
  results: Results,
  pick: (result: Measurement) => number,
  limit: number | undefined
): Row => {
  const target = results.target.map(pick)
  const baseline = results.baseline.map(pick)
  const ratio = median(pairedRatios(target, baseline))
  const quantity = duration(Math.max(median(target), median(baseline)))
  return {
    benchmark: name,
    figure: spread(quantity, target),
    baseline: show(quantity, median(baseline)),
    ratio: formatRatio(ratio),
    target: limit === undefined ? "—" : `≤ ${limit.toFixed(2)}×`,
    verdict: limit === undefined ? "report" : atMost(ratio, limit)
  }
}

const cpuRow = (name: string, results: Results) =>
  timeRow(`${name}, server CPU per request`, results, (result) => result.cpuMsPerRequest, undefined)

export const httpBenchmark = async (): Promise<ReadonlyArray<Row>> => {
  const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-http-"))
  const processes: Array<NodeProcess> = []
  try {
    const anchor = currentAnchorSeconds()
    prefillDatabase(join(dataDir, "bg-ingest.db"), anchor, OTHER_USERS)
    const bare = await startBare(dataDir)
    processes.push(bare.process)
    const range = `/api/bg/${BENCH_USER}`
    const latest: Endpoint = { name: "latest", path: `${range}/latest`, readings: 1, connections: 50 }
    const day: Endpoint = { name: "24 h", path: `${range}?${windowQuery(anchor, 24)}`, readings: 288, connections: 50 }
    const ninety: Endpoint = {
      name: "90 days",
      path: `${range}?${windowQuery(anchor, 90 * 24)}`,
      readings: NINETY_DAYS_OF_READINGS,
      connections: 1
    }
    const rows: Array<Row> = []
    // One configuration at a time beside the one bare server, so that an idle configuration's scheduler is not
    // in another's measurement.
    for (const configuration of chosenConfigurations()) {
      const started = await configuration.start(dataDir)
      processes.push(started.process)
      try {
        const servers: Servers = {
          bare: bare.server,
          service: { url: started.url, pid: started.process.pid, headers: configuration.headers }
        }
        const endpoints = [latest, day, ...(configuration.ninetyDays ? [ninety] : [])]
        const differences = new Map<Endpoint, string | undefined>()
        for (const endpoint of endpoints) {
          differences.set(endpoint, await compareAnswers(servers, endpoint.path, endpoint.readings))
        }
        const label = configuration.label
        if (selected("latest")) {
          const results = await measureEndpoint(servers, latest)
          const name = `GET latest, ${label}, 50 connections`
          rows.push(
            throughputRow(name, results, differences.get(latest)),
            timeRow(`${name}, p99`, results, (result) => result.p99Ms, 2),
            cpuRow(name, results)
          )
        }
        if (selected("24h")) {
          const results = await measureEndpoint(servers, day)
          const name = `GET 24 h (288 readings), ${label}, 50 connections`
          rows.push(
            throughputRow(name, results, differences.get(day)),
            timeRow(`${name}, p99`, results, (result) => result.p99Ms, 2),
            cpuRow(name, results)
          )
        }
        if (configuration.ninetyDays && selected("90d")) {
          const results = await measureEndpoint(servers, ninety)
          const name = `GET 90 days (25,920 readings), ${label}, 1 connection`
          rows.push(
            {
              ...timeRow(`${name}, time per response (median)`, results, (result) => result.p50Ms, 2),
              ...joinNotes(differences.get(ninety), errorNote(results))
            },
            cpuRow(name, results)
          )
        }
      } finally {
        await started.process.stop()
      }
    }
    return rows
  } finally {
    await Promise.all(processes.map((process) => process.stop()))
    rmSync(dataDir, { recursive: true, force: true })
  }
}

if (import.meta.main) {
  await runBenchmarks("HTTP read endpoints", [{ name: "http", run: httpBenchmark }], { record: recordRequested() })
}
