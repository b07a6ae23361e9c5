import { modelReadings, profileOf } from "@bg-ingest/adapters/simulator"
import type { FakeDexcom } from "../fakes/FakeDexcomServer.ts"
import type { FakeShare } from "../fakes/FakeShareServer.ts"
import { freePort } from "./processes.ts"

/** What a running service answered: the status and the parsed JSON body (or the text). */
export interface JsonAnswer {
  readonly status: number
  readonly body: any
}

export const json = async (url: string, init?: RequestInit): Promise<JsonAnswer> => {
  const response = await fetch(url, init)
  const text = await response.text()
  return { status: response.status, body: text === "" ? text : JSON.parse(text) }
}

/**
 * Resolves with `probe`'s first defined answer: waiting on something the service does by itself (a backfill, a
 * re-publish). `timeoutMs` only bounds a test that would otherwise hang; it is not a speed requirement.
 */
export const waitFor = async <A>(probe: () => Promise<A | undefined>, timeoutMs = 60_000): Promise<A> => {
  const deadline = performance.now() + timeoutMs
  while (performance.now() < deadline) {
    const value = await probe()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`still waiting after ${timeoutMs} ms`)
}

/** The user's connection of `provider` once its backfill is complete. */
export const backfilled = (baseUrl: string, userId: string, provider: string) =>
  waitFor(async () => {
    const list = await json(`${baseUrl}/api/bg/${userId}/connections`)
    const connection = (list.body as Array<any>).find((candidate) => candidate.provider === provider)
    return connection?.backfill_complete === true ? connection : undefined
  })

/** `2026-02-01T08:00:00Z` of an epoch second. */
export const isoSeconds = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().replace(".000Z", "Z")

/** The service's variables for Dexcom on the fake; the redirect URI needs the service's port, so it is chosen here. */
export const dexcomServiceEnv = async (fake: FakeDexcom, extra: Record<string, string>) => {
  const port = String(await freePort())
  return {
    PORT: port,
    DEXCOM_CLIENT_ID: fake.clientId,
    DEXCOM_CLIENT_SECRET: fake.clientSecret,
    DEXCOM_REDIRECT_URI: `http://127.0.0.1:${port}/api/connections/dexcom/callback`,
    DEXCOM_API_BASE_URL: fake.url,
    SCHEDULER_TICK_SECONDS: "1",
    ...extra
  }
}

/** The service's variables for Dexcom Share on the fake (US region). */
export const shareServiceEnv = (fake: FakeShare, extra: Record<string, string>) => ({
  PROVIDERS: "dexcom-share",
  DEXCOM_SHARE_REGION: "us",
  DEXCOM_SHARE_BASE_URL: fake.url,
  SCHEDULER_TICK_SECONDS: "1",
  ...extra
})

/**
 * Starts a Dexcom authorization at the service: the consent URL, the state it carries, and the flow's cookie,
 * which the browser brings back to the callback.
 */
export const authorizeDexcom = async (baseUrl: string, userId: string) => {
  const authorize = await fetch(`${baseUrl}/api/connections/dexcom/authorize?user_id=${userId}`, {
    redirect: "manual"
  })
  if (authorize.status !== 302) throw new Error(`authorize answered ${authorize.status}: ${await authorize.text()}`)
  const consentUrl = authorize.headers.get("location")!
  const cookie = (authorize.headers.get("set-cookie") ?? "").split(";")[0]!
  return { consentUrl, state: new URL(consentUrl).searchParams.get("state")!, cookie }
}

/** Dexcom's redirect back to the service, as the user's browser follows it with the flow's cookie. */
export const dexcomCallback = (baseUrl: string, redirect: URL, cookie: string) =>
  json(`${baseUrl}/api/connections/dexcom/callback${redirect.search}`, { headers: { cookie } })

/** authorize → the user allows on the fake's consent page → callback, as a browser goes through them. */
export const connectDexcom = async (baseUrl: string, fake: FakeDexcom, userId: string, username: string) => {
  const { consentUrl, cookie } = await authorizeDexcom(baseUrl, userId)
  const callback = await dexcomCallback(baseUrl, await fake.consent(consentUrl, { username }), cookie)
  if (callback.status !== 200)
    throw new Error(`the callback answered ${callback.status}: ${JSON.stringify(callback.body)}`)
  return callback.body
}

/** PUTs Share credentials for `userId`, as the app would. */
export const connectShare = (baseUrl: string, userId: string, username: string, password: string) =>
  json(`${baseUrl}/api/bg/${userId}/connections/dexcom-share`, {
    method: "PUT",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password })
  })

/** A connection as the API lists it (the fields the tests read). */
export interface ConnectionJson {
  readonly provider: string
  readonly backfill_from: string
  readonly synced_through: string | null
}

/** The readings a service holds for a simulator user within its connection's span, and what the model says. */
export const simulatorUserCheck = async (baseUrl: string, userId: string) => {
  const list = await json(`${baseUrl}/api/bg/${userId}/connections`)
  const connection = (list.body as Array<ConnectionJson>).find((candidate) => candidate.provider === "simulator")
  if (connection?.synced_through === null || connection === undefined) throw new Error(`${userId} was never synced`)
  const stored: Array<{ timestamp: string; glucose_mg_dl: number }> = (
    await json(
      `${baseUrl}/api/bg/${userId}?from=${connection.backfill_from}&to=${connection.synced_through}&limit=50000`
    )
  ).body
  const expected = modelReadings(
    profileOf(userId),
    Date.parse(connection.backfill_from) / 1000,
    Date.parse(connection.synced_through) / 1000
  ).filter((record) => record.value !== null)
  return {
    connection,
    stored,
    /** `[epoch seconds, mg/dL]` of what is stored, and of what the simulator measured in the same span. */
    storedPairs: stored.map((reading) => [Date.parse(reading.timestamp) / 1000, reading.glucose_mg_dl]),
    expectedPairs: expected.map((record) => [record.epochSeconds, record.value])
  }
}
