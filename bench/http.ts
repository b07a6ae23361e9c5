/**
 * The read endpoints under load: `GET /api/bg/:userId/latest`, the 24-hour range (288 readings) and the 90-day
 * range (25,920 readings), served by the service's own composition root (`appLayer`, SQLite, in its own process)
 * next to a bare `node:http` + `node:sqlite` server answering byte-identical JSON from the same database file.
 * Load comes from wrk in a third process on loopback; rounds alternate between the two servers.
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
import { startService } from "./support/service.ts"
import { median, pairedRatios } from "./support/stats.ts"

/** BENCH_HTTP=latest,24h,90d (the default) chooses the endpoints. */
const selected = (endpoint: "latest" | "24h" | "90d") =>
  (process.env.BENCH_HTTP ?? "latest,24h,90d").split(",").includes(endpoint)

/** Users besides the benchmark user, 90 days each, so that the readings table is not trivially small. */
const OTHER_USERS = Number(process.env.BENCH_OTHER_USERS ?? 9)

interface Server {
  readonly url: string
  readonly pid: number
}

interface Servers {
  readonly bare: Server
  readonly service: Server
}

const startServers = async (dataDir: string): Promise<{ servers: Servers; processes: Array<NodeProcess> }> => {
  const barePort = await freePort()
  const bare = startNode([], "bench/support/bareServer.ts", [join(dataDir, "bg-ingest.db"), String(barePort)])
  const processes = [bare]
  try {
    await waitUntilOk(bare, `http://127.0.0.1:${barePort}/ready`, performance.now())
    const service = await startService(dataDir)
    processes.push(service.process)
    const servers = {
      bare: { url: `http://127.0.0.1:${barePort}`, pid: bare.pid },
      service: { url: service.url, pid: service.process.pid }
    }
    return { servers, processes }
  } catch (error) {
    await Promise.all(processes.map((process) => process.stop()))
    throw error
  }
}

/** Both servers must answer the same bytes, or the comparison means nothing. */
const compareAnswers = async (servers: Servers, path: string, expectedReadings: number) => {
  const [bare, service] = await Promise.all(
    [servers.bare, servers.service].map(async (server) => {
      const response = await fetch(`${server.url}${path}`)
      return { status: response.status, type: response.headers.get("content-type"), body: await response.text() }
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
  if (bare!.type !== service!.type) return `content types differ: ${bare!.type} and ${service!.type}`
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
    await load({ url, connections: endpoint.connections, seconds: 1 })
    const cpuBefore = cpuMillis(server.pid)
    const result = await load({ url, connections: endpoint.connections, seconds: settings.seconds })
    return { ...result, cpuMsPerRequest: (cpuMillis(server.pid) - cpuBefore) / result.requests }
  }
  for (const server of [servers.bare, servers.service]) {
    await load({
      url: `${server.url}${endpoint.path}`,
      connections: endpoint.connections,
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

const throughputRow = (name: string, results: Results, extraNote?: string): Row => {
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
    verdict: atLeast(ratio, 0.6),
    ...joinNotes(errorNote(results), extraNote)
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
    const started = await startServers(dataDir)
    processes.push(...started.processes)
    const { servers } = started
    const range = `/api/bg/${BENCH_USER}`
    const latest: Endpoint = { name: "latest", path: `${range}/latest`, readings: 1, connections: 50 }
    const day: Endpoint = { name: "24 h", path: `${range}?${windowQuery(anchor, 24)}`, readings: 288, connections: 50 }
    const ninety: Endpoint = {
      name: "90 days",
      path: `${range}?${windowQuery(anchor, 90 * 24)}`,
      readings: NINETY_DAYS_OF_READINGS,
      connections: 1
    }
    const differences = new Map<Endpoint, string | undefined>()
    for (const endpoint of [latest, day, ninety]) {
      differences.set(endpoint, await compareAnswers(servers, endpoint.path, endpoint.readings))
    }

    const rows: Array<Row> = []
    if (selected("latest")) {
      const results = await measureEndpoint(servers, latest)
      const name = "GET latest, 50 connections"
      rows.push(
        throughputRow(name, results, differences.get(latest)),
        timeRow(`${name}, p99`, results, (result) => result.p99Ms, 2),
        cpuRow(name, results)
      )
    }
    if (selected("24h")) {
      const results = await measureEndpoint(servers, day)
      const name = "GET 24 h (288 readings), 50 connections"
      rows.push(
        throughputRow(name, results, differences.get(day)),
        timeRow(`${name}, p99`, results, (result) => result.p99Ms, undefined),
        cpuRow(name, results)
      )
    }
    if (selected("90d")) {
      const results = await measureEndpoint(servers, ninety)
      const name = "GET 90 days (25,920 readings), 1 connection"
      rows.push(
        {
          ...timeRow(`${name}, time per response (median)`, results, (result) => result.p50Ms, 2),
          ...joinNotes(differences.get(ninety), errorNote(results))
        },
        cpuRow(name, results)
      )
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
