/**
 * The baseline of the HTTP benchmarks: a bare `node:http` + `node:sqlite` server answering the read endpoints with
 * the same SQL and byte-identical JSON, validating what it must (user id, times with a zone, the 90-day window)
 * and nothing more. No framework, no schema, no logging, no API key: what the service costs is measured against
 * this. Its answers carry the service's headers (no-store, nosniff, the CSP, no referrer, a request id), so that
 * both send the same bytes; bench/http.ts checks the body bytes and the header names before measuring.
 *
 *   node bench/support/bareServer.ts <database file> <port>
 */
import { randomUUID } from "node:crypto"
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import { DatabaseSync } from "node:sqlite"

const [filename, portText] = process.argv.slice(2)
if (filename === undefined || portText === undefined) {
  console.error("usage: bareServer.ts <database file> <port>")
  process.exit(2)
}

const db = new DatabaseSync(filename)
// The SQLite adapter's own statements, byte for byte: the same query, so only what surrounds it is compared.
const COLUMNS = "user_id, ts, glucose_mg_dl, trend, trend_rate, status, provider, record_id, display_time"
const latest = db.prepare(`SELECT ${COLUMNS} FROM readings WHERE user_id = ? ORDER BY ts DESC LIMIT 1`)
const range = db.prepare(`SELECT ${COLUMNS} FROM readings WHERE user_id = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?`)

interface Row {
  readonly ts: number
  readonly glucose_mg_dl: number
  readonly trend: string
  readonly trend_rate: number | null
  readonly status: string
  readonly provider: string
}

const toJson = (row: Row) => ({
  timestamp: `${new Date(row.ts * 1000).toISOString().slice(0, 19)}Z`,
  glucose_mg_dl: row.glucose_mg_dl,
  trend: row.trend,
  trend_rate: row.trend_rate,
  status: row.status,
  source: row.provider
})

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/
const DAY_MS = 86_400_000

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/

const send = (
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  body: string,
  type = "application/json"
) => {
  const given = request.headers["x-request-id"]
  response.writeHead(status, {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'",
    "referrer-policy": "no-referrer",
    "x-request-id": typeof given === "string" && REQUEST_ID.test(given) ? given : randomUUID(),
    "content-type": type,
    "content-length": Buffer.byteLength(body)
  })
  response.end(body)
}

const problem = (request: IncomingMessage, response: ServerResponse, status: number, detail: string) =>
  send(request, response, status, JSON.stringify({ type: "about:blank", status, detail }), "application/problem+json")

const instant = (text: string | null): number | undefined | null => {
  if (text === null) return undefined
  return RFC3339.test(text) ? Date.parse(text.replace(" ", "T")) : null
}

createServer((request, response) => {
  const url = new URL(request.url ?? "/", "http://localhost")
  const segments = url.pathname.split("/")
  if (url.pathname === "/ready") return send(request, response, 200, '{"status":"ready"}')
  if (request.method !== "GET" || segments[1] !== "api" || segments[2] !== "bg")
    return problem(request, response, 404, "No route")
  const userId = decodeURIComponent(segments[3] ?? "")
  if (!USER_ID.test(userId)) return problem(request, response, 400, "Invalid path parameter userId")
  if (segments.length === 5 && segments[4] === "latest") {
    const row = latest.get(userId) as Row | undefined
    return row === undefined
      ? problem(request, response, 404, `${userId} has no reading yet`)
      : send(request, response, 200, JSON.stringify(toJson(row)))
  }
  if (segments.length !== 4) return problem(request, response, 404, "No route")
  const toParam = instant(url.searchParams.get("to"))
  const fromParam = instant(url.searchParams.get("from"))
  const limitText = url.searchParams.get("limit")
  const limit = limitText === null ? 50_000 : Number(limitText)
  if (toParam === null || fromParam === null || !Number.isInteger(limit) || limit < 1 || limit > 50_000) {
    return problem(request, response, 400, "Invalid query")
  }
  const to = toParam ?? Date.now()
  const from = fromParam ?? to - DAY_MS
  if (from > to || to - from > 90 * DAY_MS) return problem(request, response, 400, "Invalid window")
  const rows = range.all(userId, Math.ceil(from / 1000), Math.ceil(to / 1000), limit) as unknown as ReadonlyArray<Row>
  send(request, response, 200, JSON.stringify(rows.map(toJson)))
}).listen(Number(portText), "127.0.0.1")
process.on("SIGTERM", () => process.exit(0))
