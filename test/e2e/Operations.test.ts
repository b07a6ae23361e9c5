import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, describe, it } from "@effect/vitest"
import { readBody, startFakeServer } from "../fakes/FakeServer.ts"
import { startService } from "../support/processes.ts"
import { webhookHeaders } from "../support/webhook.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-ops-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const SECRETS = {
  WEBHOOK_SECRET: "ops-webhook-secret-5f1e0c7d9a",
  API_KEYS: "ops-api-key-3b8f2e6a1c0d94",
  TOKEN_ENCRYPTION_KEY: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
}
const WRONG_KEY = "ops-wrong-key-7d1c9e2b4a"
const BODY_MARKER = "body-marker-a91c3e"

/** A stand-in OTLP/HTTP collector that keeps what it receives. */
const startCollector = async () => {
  const received: Array<{ path: string; body: string }> = []
  const server = await startFakeServer({
    handle: async (request, response) => {
      received.push({ path: request.url ?? "", body: await readBody(request, 64 * 1_048_576) })
      response.setHeader("content-type", "application/json")
      response.end("{}")
    },
    onError: (_, response) => {
      response.statusCode = 500
      response.end()
    }
  })
  return { url: server.url, received, close: server.close }
}

describe("operating the service", () => {
  it("structured logs carry request ids and no secret, token, signature or body; metrics and traces are exported", async () => {
    const collector = await startCollector()
    const service = await startService({
      DATA_DIR: dataDir,
      LOG_FORMAT: "json",
      LOG_LEVEL: "Debug",
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.url,
      DEMO_USERS: "ops-user",
      ...SECRETS
    })
    const auth = { authorization: `Bearer ${SECRETS.API_KEYS}` }
    assert.strictEqual((await fetch(`${service.baseUrl}/api/bg/ops-user/latest`, { headers: auth })).status, 200)
    assert.strictEqual((await fetch(`${service.baseUrl}/api/bg/ops-user/latest`)).status, 401)
    const wrong = await fetch(`${service.baseUrl}/api/bg/ops-user`, {
      headers: { authorization: `Bearer ${WRONG_KEY}` }
    })
    assert.strictEqual(wrong.status, 401)
    assert.strictEqual(
      (await fetch(`${service.baseUrl}/api/bg/ops-user/connections/simulator/sync`, { method: "POST", headers: auth }))
        .status,
      200
    )

    const body = JSON.stringify({
      readings: [{ timestamp: "2026-01-01T00:00:00Z", glucose_mg_dl: 101, record_id: BODY_MARKER }]
    })
    const headers = webhookHeaders("/api/bg/hook-user/webhook", body, { secret: SECRETS.WEBHOOK_SECRET })
    assert.strictEqual(
      (await fetch(`${service.baseUrl}/api/bg/hook-user/webhook`, { method: "POST", headers, body })).status,
      202
    )
    const tampered = body.replace("101", "102")
    assert.strictEqual(
      (await fetch(`${service.baseUrl}/api/bg/hook-user/webhook`, { method: "POST", headers, body: tampered })).status,
      401
    )

    const metrics = await (await fetch(`${service.baseUrl}/metrics`, { headers: auth })).text()
    assert.match(metrics, /^bg_ingest_api_key_failures_total 2$/m)
    assert.match(
      metrics,
      /^bg_ingest_http_request_duration_seconds_count\{.*route="\/api\/bg\/:userId\/latest".*status="200".*\} 1$/m
    )
    assert.match(metrics, /^bg_ingest_connections\{status="active"\} 1$/m)
    assert.match(metrics, /^bg_ingest_readings_ingested_total\{change="inserted"\} \d+$/m)
    assert.match(metrics, /^bg_ingest_stale_users\{older_than_seconds="900"\} \d+$/m)
    assert.notInclude(metrics, "user_id")
    assert.match(metrics, /^bg_ingest_provider_calls_total\{provider="simulator",outcome="ok"\} \d+$/m)
    assert.match(metrics, /^bg_ingest_events_published_total \d+$/m)

    assert.strictEqual(await service.stop(), 0)
    const output = service.output()
    const signature = headers["x-webhook-signature"]!.slice("sha256=".length)
    for (const secret of [...Object.values(SECRETS), WRONG_KEY, signature, BODY_MARKER]) {
      assert.notInclude(output, secret)
    }
    const lines = output
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as { message: unknown; annotations: Record<string, unknown> })
    const requestLog = lines.find(
      (line) => line.message === "HTTP request" && line.annotations.route === "/api/bg/:userId/webhook"
    )
    assert.isDefined(requestLog)
    assert.match(String(requestLog!.annotations.request_id), /^[0-9a-f-]{36}$/)
    assert.strictEqual(requestLog!.annotations.method, "POST")
    assert.isNumber(requestLog!.annotations.duration_ms)

    const traces = collector.received.filter((request) => request.path === "/v1/traces")
    assert.isAbove(traces.length, 0, "no traces were exported")
    const spans = traces.map((request) => request.body).join("\n")
    assert.include(spans, "Sync.sync")
    assert.include(spans, "Ingest.ingest")
    for (const secret of [...Object.values(SECRETS), BODY_MARKER]) assert.notInclude(spans, secret)
    await collector.close()
  })
})
