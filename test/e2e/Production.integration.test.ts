import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, it } from "@effect/vitest"
import { startDynalite } from "../support/dynamodb.ts"
import { runServiceToExit, startService } from "../support/processes.ts"
import { describeWithBroker, resolveTestBroker, uniqueName } from "../support/rabbitmq.ts"

const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-production-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))

const SECRETS = {
  WEBHOOK_SECRET: "prod-webhook-secret-0c1d2e3f4a5b",
  API_KEYS: "prod-api-key-9a8b7c6d5e4f3a2b",
  TOKEN_ENCRYPTION_KEY: "Jc0S9m0V7+5m4f3sYb0tq3XzX9cXcS2m3JtRk4d0a1Q=",
  DEXCOM_CLIENT_SECRET: "prod-dexcom-client-secret-77"
}

/** Starts the service and expects it to refuse: exit code 1 and what it printed. */
const refusal = (env: Record<string, string>) => {
  const { status, stdout, stderr } = runServiceToExit({ DATA_DIR: dataDir, ...env })
  return { status, output: `${stdout}${stderr}` }
}

const availability = await resolveTestBroker()

describeWithBroker("production mode", availability, (broker) => {
  it("configured, it starts on DynamoDB and RabbitMQ, demands keys, exposes metrics and readiness", async () => {
    const dynamo = await startDynalite()
    const table = uniqueName("bg_prod").replaceAll(".", "_")
    const exchange = uniqueName("bg.prod")
    const common = {
      DYNAMODB_ENDPOINT: dynamo.endpoint,
      DYNAMODB_TABLE: table,
      AWS_REGION: "eu-west-1",
      RABBITMQ_URL: broker.url,
      RABBITMQ_EXCHANGE: exchange,
      RABBITMQ_UNROUTABLE: "drop",
      DEXCOM_CLIENT_ID: "prod-client-id",
      DEXCOM_REDIRECT_URI: "https://bg.example.com/api/connections/dexcom/callback",
      DEXCOM_API_BASE_URL: "https://api.dexcom.eu",
      ...SECRETS
    }
    try {
      // Production never creates the table: it must exist.
      const missing = refusal({ APP_ENV: "production", ...common })
      assert.strictEqual(missing.status, 1)
      assert.include(missing.output, table)
      for (const secret of Object.values(SECRETS)) assert.notInclude(missing.output, secret)

      // Development creates it (as an operator's migration would), then production uses it.
      const setup = await startService({ ...common, DATA_DIR: dataDir, DEMO_USERS: "", PROVIDERS: "simulator" })
      assert.strictEqual(await setup.stop(), 0)

      const service = await startService({ APP_ENV: "production", DATA_DIR: dataDir, ...common })
      try {
        assert.strictEqual((await fetch(`${service.baseUrl}/api/bg/u1`)).status, 401)
        const ok = await fetch(`${service.baseUrl}/api/bg/u1`, {
          headers: { authorization: `Bearer ${SECRETS.API_KEYS}` }
        })
        assert.deepStrictEqual([ok.status, await ok.json()], [200, []])
        const ready = await fetch(`${service.baseUrl}/ready`)
        assert.deepStrictEqual(((await ready.json()) as { checks: unknown }).checks, { store: "ok", broker: "ok" })
        // /metrics and /docs are not open to the world: they need the key too.
        assert.strictEqual((await fetch(`${service.baseUrl}/metrics`)).status, 401)
        assert.strictEqual((await fetch(`${service.baseUrl}/docs`)).status, 401)
        const metrics = await (
          await fetch(`${service.baseUrl}/metrics`, { headers: { authorization: `Bearer ${SECRETS.API_KEYS}` } })
        ).text()
        assert.match(metrics, /^bg_ingest_api_key_failures_total 3$/m)
        const authorize = await fetch(`${service.baseUrl}/api/connections/dexcom/authorize?user_id=u1`, {
          headers: { authorization: `Bearer ${SECRETS.API_KEYS}` },
          redirect: "manual"
        })
        assert.strictEqual(authorize.status, 302)
        assert.match(authorize.headers.get("location") ?? "", /^https:\/\/api\.dexcom\.eu\/v2\/oauth2\/login\?/)
      } finally {
        assert.strictEqual(await service.stop(), 0)
      }
      const output = service.output()
      const lines = output.split("\n").filter((line) => line.trim() !== "")
      assert.isTrue(
        lines.some((line) => line.includes("HTTP request")),
        "it logged its requests"
      )
      for (const line of lines) assert.isTrue(line.startsWith("{"), `production logs are JSON: ${line}`)
      for (const secret of Object.values(SECRETS)) assert.notInclude(output, secret)
    } finally {
      await dynamo.stop()
    }
  })
})
