import { randomBytes } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type AttributeValue, DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb"
import { afterAll, assert, it } from "@effect/vitest"
import { type DexcomRecord, egvSeries } from "../fakes/dexcomRecords.ts"
import { type FakeDexcom, type FakeRequest, startFakeDexcom } from "../fakes/FakeDexcomServer.ts"
import { alignedFiveMinutes } from "../support/dexcom.ts"
import { startDynamoCounter } from "../support/dynamoCounter.ts"
import { startDynalite } from "../support/dynamodb.ts"
import { connectDexcom, dexcomServiceEnv, isoSeconds, json } from "../support/e2e.ts"
import { type ServiceProcess, spawnService } from "../support/processes.ts"
import { busiestWindow, callsPerSlot, overlappingCalls } from "../support/providerCalls.ts"
import { describeWithBroker, resolveTestBroker, startQueueConsumer, uniqueName } from "../support/rabbitmq.ts"

/**
 * Three replicas of the real service (processes) on one DynamoDB table (dynalite over HTTP, served from this
 * process) and one RabbitMQ exchange, against one fake Dexcom that times every call: 24 users connected through
 * the API, each with a backfill of three 30-day windows; one replica is SIGKILLed while the fake answers one of
 * its calls. The table, the bus and the fake's record are then compared reading by reading.
 */

const root = mkdtempSync(join(tmpdir(), "bg-ingest-replicas-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const DAY = 86_400_000
const HOUR = 3_600_000
const USERS = 24
const NAMES = ["r1", "r2", "r3"] as const
const REPLICAS = NAMES.length
/** 65 days of records, one every six hours: a backfill of three EGV windows of at most 30 days per user. */
const SPAN_DAYS = 65
const CADENCE_SECONDS = 6 * 3600
/** Dexcom's per-application hourly limit, set low so that the budget binds during the backfill. */
const CALLS_PER_HOUR = 5400
/** The budget's slots: one minute, each allowed 1/61 of the hourly limit (see the assertions). */
const SLOT_MILLIS = 60_000
const SLOT_LIMIT = Math.floor(CALLS_PER_HOUR / 61)
/** The longest a call may take from the replica's count to the fake on this machine, for the fake's view of slots. */
const LAG_MILLIS = 2000
/** An EGV call takes this long at the fake, so that calls are in flight when a replica is killed. */
const EGV_LATENCY_MILLIS = 250

/** A claim's lease (the service's minimum) and the sync timeout it must outlive: a dead replica's work waits this long. */
const LEASE_SECONDS = 30
/** Syncs at a time per replica. */
const CONCURRENCY = 2
const SYNC_TIMEOUT_SECONDS = 25

const userIdOf = (index: number) => `replica-user-${String(index).padStart(2, "0")}`
const usernameOf = (index: number) => `ReplicaUser${String(index).padStart(2, "0")}`

/** The calls that count against Dexcom's limit: the token endpoint and the data API (not the consent pages). */
const isBudgeted = (request: FakeRequest) => request.path === "/v2/oauth2/token" || request.path.startsWith("/v3/")

/** Every reading item of a user in the table: `[timestamp, mg/dL]`, by time. */
const storedReadings = async (sdk: DynamoDBClient, table: string, userId: string) => {
  const items: Array<Record<string, AttributeValue>> = []
  let start: Record<string, AttributeValue> | undefined
  do {
    const page = await sdk.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :reading)",
        ExpressionAttributeValues: { ":pk": { S: `USER#${userId}` }, ":reading": { S: "READING#" } },
        ...(start === undefined ? {} : { ExclusiveStartKey: start })
      })
    )
    items.push(...(page.Items ?? []))
    start = page.LastEvaluatedKey
  } while (start !== undefined)
  return items.map((item) => [item.sk!.S!.slice("READING#".length), Number(item.glucose_mg_dl!.N)] as const)
}

/** The shared budget's slots as the replicas counted them in the table: each slot's start and its calls. */
const budgetSlots = async (sdk: DynamoDBClient, table: string, key: string) => {
  const page = await sdk.send(
    new QueryCommand({
      TableName: table,
      KeyConditionExpression: "pk = :pk",
      ExpressionAttributeValues: { ":pk": { S: `BUDGET#${key}` } },
      ConsistentRead: true
    })
  )
  return (page.Items ?? []).map((item) => ({
    from: Number(item.sk!.S!.slice("WINDOW#".length)),
    calls: Number(item.budget_calls?.N ?? 0)
  }))
}

/** Waits for `probe`'s first defined answer, asking every `everyMs`; the bound only stops a test that would hang. */
const eventually = async <A>(
  what: string,
  probe: () => Promise<A | undefined>,
  { timeoutMs = 240_000, everyMs = 500 } = {}
): Promise<A> => {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
  throw new Error(`${what}: still waiting after ${timeoutMs} ms`)
}

const availability = await resolveTestBroker()

describeWithBroker("three replicas on one DynamoDB table and one RabbitMQ exchange", availability, (broker) => {
  it("24 backfills, one replica SIGKILLed mid-call: no overlapping calls, every reading stored once and evented, the budget kept", async ({
    annotate,
    task
  }) => {
    const dynamo = await startDynalite()
    // The replicas reach dynalite through a proxy that counts their requests (the test's own reads go direct).
    const counter = await startDynamoCounter(dynamo.endpoint)
    const fake: FakeDexcom = await startFakeDexcom({
      latency: (path) => (path === "/v3/users/self/egvs" ? EGV_LATENCY_MILLIS : 0)
    })
    const exchange = uniqueName("bg.replicas")
    const table = uniqueName("bg_replicas").replaceAll(".", "_")
    const consumer = await startQueueConsumer(broker.url, exchange)
    const sdk = new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: "eu-west-1",
      credentials: { accessKeyId: "local", secretAccessKey: "local" }
    })
    const services: Array<ServiceProcess> = []
    const report: Array<string> = []
    const began = performance.now()
    /** Progress for the report (never asserted): seconds since the test began. */
    const mark = (what: string) => report.push(`${what} at ${((performance.now() - began) / 1000).toFixed(1)} s`)
    try {
      // Each user's truth: 65 days up to two hours ago, every 41st record without a value.
      const firstRecord = alignedFiveMinutes(Date.now() - SPAN_DAYS * DAY)
      const truth = new Map<string, ReturnType<typeof egvSeries>>()
      for (let index = 0; index < USERS; index++) {
        const series = egvSeries({
          start: firstRecord + (index % 12) * 5 * 60_000,
          count: Math.floor((SPAN_DAYS * DAY - 2 * HOUR) / (CADENCE_SECONDS * 1000)),
          cadenceSeconds: CADENCE_SECONDS,
          nullEvery: 41,
          recordIdPrefix: `u${index}`
        })
        truth.set(userIdOf(index), series)
        fake.addUser(usernameOf(index), { records: series.records as ReadonlyArray<DexcomRecord> })
      }

      const shared = {
        DEMO_USERS: "",
        LOG_FORMAT: "json",
        DYNAMODB_ENDPOINT: counter.endpoint,
        DYNAMODB_TABLE: table,
        AWS_REGION: "eu-west-1",
        RABBITMQ_URL: broker.url,
        RABBITMQ_EXCHANGE: exchange,
        // Development replicas would each generate their own key in their DATA_DIR and could not read each
        // other's tokens: a shared store needs one key.
        TOKEN_ENCRYPTION_KEY: randomBytes(32).toString("base64"),
        BACKFILL_DAYS: String(SPAN_DAYS + 5),
        SCHEDULER_TICK_SECONDS: "1",
        // Two syncs at a time per replica: on a loaded two-core machine a backfill of three windows then ends
        // within its timeout (24 at once over one dynalite would each take longer, and time out to be redone).
        SCHEDULER_CONCURRENCY: String(CONCURRENCY),
        SCHEDULER_LEASE_SECONDS: String(LEASE_SECONDS),
        SCHEDULER_SYNC_TIMEOUT_SECONDS: String(SYNC_TIMEOUT_SECONDS),
        DEXCOM_MAX_CALLS_PER_HOUR: String(CALLS_PER_HOUR)
      }
      const start = async (name: string) => {
        const dataDir = join(root, name)
        mkdirSync(dataDir)
        const env = await dexcomServiceEnv(fake, { ...shared, DATA_DIR: dataDir })
        const service = await spawnService({ ...env, DEXCOM_API_BASE_URL: `${fake.url}/via/${name}` })
        services.push(service)
        await service.ready(60_000)
        return service
      }
      // The first creates the table (development does); the others find it.
      const [first] = [await start(NAMES[0])]
      const others = await Promise.all([start(NAMES[1]), start(NAMES[2])])
      mark("replicas ready")
      const replicas = [first!, ...others]

      // Users connect through the API, spread over the replicas; each connection is due at once.
      await Promise.all(
        Array.from({ length: USERS }, (_, index) =>
          connectDexcom(replicas[index % REPLICAS]!.baseUrl, fake, userIdOf(index), usernameOf(index))
        )
      )

      mark("users connected")
      // The victim: the first replica seen in the middle of an EGV call after finishing two (one claim may take
      // every due connection, so which replica holds the backfills is not known in advance).
      const egvCalls = (via: string) =>
        fake.requests.filter((request) => request.via === via && request.path === "/v3/users/self/egvs").length
      const [victimName, inFlightUsers] = await eventually(
        "a replica mid-backfill",
        async () => {
          for (const name of NAMES) {
            const inFlight = [...fake.inFlight].filter(
              (request) =>
                request.via === name && request.path === "/v3/users/self/egvs" && request.username !== undefined
            )
            if (egvCalls(name) >= 2 && inFlight.length > 0)
              return [name, inFlight.map((request) => request.username!)] as const
          }
          return undefined
        },
        { everyMs: 20 }
      )
      const victim = replicas[NAMES.indexOf(victimName)]!
      const killedAt = performance.timeOrigin + performance.now()
      assert.strictEqual(await victim.stop("SIGKILL"), null)
      const orphans = [...new Set(inFlightUsers)]
      report.push(`killed ${victimName} with ${orphans.length} EGV call(s) in flight (${orphans.join(", ")})`)

      mark("kill")
      // The survivors finish every backfill, the orphans' included.
      const survivor = replicas.find((service) => service !== victim)!
      await eventually("every backfill complete", async () => {
        for (let index = 0; index < USERS; index++) {
          const list = await json(`${survivor.baseUrl}/api/bg/${userIdOf(index)}/connections`)
          const connection = (list.body as Array<any>).find((candidate) => candidate.provider === "dexcom")
          if (connection?.backfill_complete !== true) return undefined
        }
        return true
      })

      mark("backfills complete")
      // Every provider reading stored exactly once: the table against the fake's truth, reading by reading.
      let storedTotal = 0
      const storedKeys = new Set<string>()
      for (const [userId, series] of truth) {
        const stored = await storedReadings(sdk, table, userId)
        assert.deepStrictEqual(
          stored,
          series.expected.map((reading) => [isoSeconds(reading.epochSeconds), reading.glucoseMgDl] as const),
          `the readings of ${userId}`
        )
        storedTotal += stored.length
        for (const [timestamp, value] of stored) storedKeys.add(`${userId}|${timestamp}|${value}`)
      }

      // Every stored reading reaches an independent consumer, at least once; nothing else is published.
      const keyOf = (body: any) => `${body.user_id}|${body.reading.timestamp}|${body.reading.glucose_mg_dl}`
      await eventually("every stored reading evented", async () => {
        const delivered = new Set(consumer.received.map((event) => keyOf(event.body)))
        return [...storedKeys].every((key) => delivered.has(key)) ? true : undefined
      })
      mark("all evented")
      const eventsPerReading = new Map<string, number>()
      for (const event of consumer.received) {
        const key = keyOf(event.body)
        assert.isTrue(storedKeys.has(key), `an event of a reading that is not stored: ${JSON.stringify(event.body)}`)
        assert.strictEqual(event.messageId, event.body.event_id)
        eventsPerReading.set(key, (eventsPerReading.get(key) ?? 0) + 1)
      }
      const ratio = consumer.received.length / storedTotal
      const mostEvents = Math.max(...eventsPerReading.values())
      report.push(
        `${storedTotal} readings stored, ${consumer.received.length} events: ${ratio.toFixed(3)} per reading (at most ${mostEvents} for one)`
      )
      // No needless re-publishing: a reading is evented again only when its window was fetched again (the sync that
      // first stored it died or timed out before its events were confirmed); the fake knows those windows.
      const fetched = new Map<string, number>()
      let refetched = 0
      for (const call of fake.requests) {
        if (call.path !== "/v3/users/self/egvs" || call.status !== 200 || call.username === undefined) continue
        const key = `${call.username} ${call.startDate} ${call.endDate}`
        fetched.set(key, (fetched.get(key) ?? 0) + 1)
        if (fetched.get(key)! < 2) continue
        const from = Date.parse(`${call.startDate}Z`) / 1000
        const to = Date.parse(`${call.endDate}Z`) / 1000
        const userId = userIdOf(Number(call.username.slice("ReplicaUser".length)))
        refetched += truth.get(userId)!.expected.filter((r) => r.epochSeconds >= from && r.epochSeconds <= to).length
      }
      report.push(`readings in windows fetched again: ${refetched}`)
      assert.isAtMost(consumer.received.length, storedTotal + refetched, "events beyond one per reading")

      // No user's calls overlapped in time, across the three replicas.
      const calls = fake.requests.filter(isBudgeted)
      const overlaps = overlappingCalls(calls)
      assert.deepStrictEqual(
        overlaps.map(
          ({ username, first, second }) =>
            `${username}: ${first.via} ${first.path} ${first.startedAt}–${first.finishedAt} / ${second.via} ${second.path} ${second.startedAt}`
        ),
        [],
        "calls of one user that overlapped"
      )

      // The orphans were finished by the others, after the kill.
      for (const username of orphans) {
        const after = calls.filter((call) => call.username === username && call.startedAt > killedAt)
        assert.isAbove(after.length, 0, `${username} was synced again after ${victimName} died`)
        for (const call of after) assert.notStrictEqual(call.via, victimName, `${username}'s calls after the kill`)
      }

      // The budget, all replicas together (DESIGN §14): Dexcom's limit is per hour; the replicas count it in slots of
      // one minute, each allowed 1/61 of the hour's calls, so that no hour, wherever it starts, holds more. By the
      // replicas' own count (the budget's items in the table) and by the fake's, where a call that reached it within
      // LAG_MILLIS of a slot's start may have been counted in the slot before.
      const slotItems = await budgetSlots(sdk, table, `dexcom/${fake.clientId}`)
      assert.isAbove(slotItems.length, 0, "the replicas counted their calls in the table")
      for (const slot of slotItems) assert.isAtMost(slot.calls, SLOT_LIMIT, `the budget's count of ${slot.from}`)
      const counted = slotItems.reduce((sum, slot) => sum + slot.calls, 0)
      assert.isAtLeast(counted, calls.length, "every call the fake saw was counted in the shared budget")
      const seen = callsPerSlot(calls, SLOT_MILLIS, { lagMillis: LAG_MILLIS, limit: SLOT_LIMIT })
      for (const slot of seen) assert.isAtMost(slot.calls, SLOT_LIMIT, `calls in the slot from ${slot.from}`)
      assert.isAtMost(busiestWindow(calls, HOUR).calls, CALLS_PER_HOUR)
      report.push(
        `budget ${SLOT_LIMIT} calls a minute: the table counted ${slotItems.map((slot) => slot.calls).join(", ")}; ` +
          `the fake saw ${seen.map((slot) => slot.calls + (slot.movedBack > 0 ? ` (${slot.movedBack} moved back)` : "")).join(", ")}`
      )
      report.push(
        `${calls.length} budgeted calls (${fake.requests.filter((r) => r.path === "/v3/users/self/egvs").length} EGV), ` +
          `by replica: ${NAMES.map((via) => `${via} ${calls.filter((call) => call.via === via).length}`).join(", ")}; no overlaps`
      )
      const dynamoCounts = counter.take()
      const requests = Object.values(dynamoCounts.requests).reduce((sum, count) => sum + count, 0)
      report.push(
        `DynamoDB, all replicas: ${requests} requests, ${dynamoCounts.itemsWritten} items written ` +
          `(${(dynamoCounts.itemsWritten / storedTotal).toFixed(2)} per stored reading), ${dynamoCounts.itemsRead} read, ` +
          `${dynamoCounts.conditionFailed} conditional writes refused (${Object.entries(dynamoCounts.refused)
            .map(([operation, count]) => `${operation} ${count}`)
            .join(", ")}); ${Object.entries(dynamoCounts.requests)
            .map(([operation, count]) => `${operation} ${count}`)
            .join(", ")}`
      )
      // The survivors stop in order (SIGTERM: in-flight syncs finish, nothing is left half done).
      for (const service of replicas) {
        if (service !== victim) assert.strictEqual(await service.stop(), 0)
      }
      // The figures, in the test's report: vitest's JSON report (.tmp/vitest-results.json) keeps them as its meta.
      Object.assign(task.meta, { figures: report })
      // REPLICAS_DUMP=<directory> keeps each replica's log and the fake's record of calls, to study a run.
      if (process.env.REPLICAS_DUMP) {
        const fs = await import("node:fs")
        for (const [i, service] of services.entries())
          fs.writeFileSync(`${process.env.REPLICAS_DUMP}/r${i + 1}.log`, service.output())
        fs.writeFileSync(`${process.env.REPLICAS_DUMP}/calls.json`, JSON.stringify(fake.requests))
      }
      await annotate(report.join("; "))
    } catch (error) {
      // What the replicas printed, with the failure (the end of each log).
      const logs = services.map((service) => `---- ${service.baseUrl}\n${service.output().slice(-20_000)}`)
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}\n${report.join("\n")}\n${logs.join("\n")}`,
        {
          cause: error
        }
      )
    } finally {
      await Promise.all(services.map((service) => service.stop("SIGKILL")))
      sdk.destroy()
      await counter.close()
      await consumer.close()
      await fake.close()
      await dynamo.stop()
    }
  }, 300_000)
})
