import { UserId } from "@bg-ingest/domain"
import { BgIngestClient } from "@bg-ingest/http/client"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { HttpServer } from "effect/http"
import { type FakeLibreLinkUp, fakeLibreLinkUp } from "../fakes/FakeLibreLinkUpServer.ts"
import { type ExpectedLibreReading, type LibreSensor, libreSensor } from "../fakes/libreRecords.ts"
import { expectedAfterPolls } from "../support/libreExpected.ts"
import { libreServiceLayer } from "../support/libreLinkUp.ts"
import { get, post, putJson, testServer } from "../support/server.ts"

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const FOLLOWER = "follower@example.org"
const PASSWORD = "Correct-Horse-Battery-7"
const CONNECTION = "/api/bg/alice/connections/libre-link-up"
const ZONE = "Australia/Sydney"

/**
 * The fake's clock stands still a little before the test starts, so that which readings exist does not depend on
 * when the test runs or how long it takes; the service runs on the real clock, later than the fake's.
 */
const withService = (body: (fake: FakeLibreLinkUp, frozen: number) => Effect.Effect<void, unknown, any>) =>
  Effect.gen(function* () {
    const frozen = Math.floor(Date.now() / 1000) * 1000 - 5 * MINUTE
    const fake = yield* fakeLibreLinkUp({ now: () => frozen })
    const core = libreServiceLayer(fake)
    yield* body(fake, frozen).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))))
  }).pipe(Effect.scoped)

/** Two patients; the sensor of the one to read ends with a current reading 20 s before the fake's "now". */
const twoPatients = (fake: FakeLibreLinkUp, frozen: number) => {
  const ada: LibreSensor = libreSensor({
    start: frozen - 11 * HOUR - 20_000,
    count: 660,
    nullEvery: 7,
    highLowEvery: 11
  })
  const grace = libreSensor({ start: frozen - 3 * HOUR, count: 170, value: () => 250 })
  fake.addAccount(FOLLOWER, {
    password: PASSWORD,
    region: "eu",
    patients: [
      { firstName: "Grace", lastName: "Hopper", zone: "Europe/London", sensor: grace },
      { firstName: "Ada", lastName: "Lovelace", zone: ZONE, unit: "mmol/L", sensor: ada }
    ]
  })
  const [graceId, adaId] = fake.patientIds(FOLLOWER) as [string, string]
  return { ada, graceId, adaId }
}

const json = (reading: ExpectedLibreReading) => ({
  timestamp: new Date(reading.epochSeconds * 1000).toISOString().replace(".000Z", "Z"),
  glucose_mg_dl: reading.glucoseMgDl,
  trend: reading.trend,
  trend_rate: null,
  status: reading.status,
  source: "libre-link-up"
})

const isProblem = (answer: { status: number; contentType: string; body: any }, status: number, type: string) => {
  assert.strictEqual(answer.status, status, JSON.stringify(answer.body))
  assert.strictEqual(answer.contentType, "application/problem+json")
  assert.strictEqual(answer.body.type, type)
}

const noSecrets = (answer: { body: unknown }, fake: FakeLibreLinkUp) => {
  const text = JSON.stringify(answer.body)
  for (const secret of [PASSWORD, FOLLOWER, "v1.", ...fake.issuedTokens()]) assert.notInclude(text, secret)
}

describe("connecting LibreLinkUp over HTTP, end to end on loopback", () => {
  it.live("several patients: 400 patient-choice-required lists them; the chosen one is connected and synced", () =>
    withService((fake, frozen) =>
      Effect.gen(function* () {
        const { ada, graceId, adaId } = twoPatients(fake, frozen)
        const choose = yield* putJson(CONNECTION, { username: FOLLOWER, password: PASSWORD })
        isProblem(choose, 400, "urn:bg-ingest:problem:patient-choice-required")
        assert.strictEqual(choose.body.reason, "patient_required")
        assert.deepStrictEqual(choose.body.patients, [
          { patient_id: graceId, name: "Grace Hopper" },
          { patient_id: adaId, name: "Ada Lovelace" }
        ])
        noSecrets(choose, fake)
        const unknown = yield* putJson(CONNECTION, {
          username: FOLLOWER,
          password: PASSWORD,
          patient_id: "0b7e4a52-1111-4222-8333-444455556666"
        })
        isProblem(unknown, 400, "urn:bg-ingest:problem:patient-choice-required")
        assert.strictEqual(unknown.body.reason, "unknown_patient")
        assert.strictEqual(unknown.body.patients.length, 2)
        assert.deepStrictEqual((yield* get("/api/bg/alice/connections")).body, [])

        const created = yield* putJson(CONNECTION, { username: FOLLOWER, password: PASSWORD, patient_id: adaId })
        assert.strictEqual(created.status, 201, JSON.stringify(created.body))
        assert.deepInclude(created.body, { provider: "libre-link-up", status: "active", synced_through: null })
        noSecrets(created, fake)

        const expected = expectedAfterPolls(ada, ZONE, [frozen])
        const synced = yield* post(`${CONNECTION}/sync`)
        assert.strictEqual(synced.status, 200, JSON.stringify(synced.body))
        assert.deepInclude(synced.body, { windows: 1, inserted: expected.length, updated: 0 })
        assert.deepStrictEqual((yield* get("/api/bg/alice/latest")).body, json(expected.at(-1)!))
        const from = json(expected[0]!).timestamp
        assert.deepStrictEqual((yield* get(`/api/bg/alice?from=${from}`)).body, expected.map(json))
        const again = yield* post(`${CONNECTION}/sync`)
        assert.deepInclude(again.body, { inserted: 0, updated: 0, unchanged: expected.length })
        // Three connects: the first redirected to the account's region, the others went straight there; the
        // syncs needed no login.
        assert.strictEqual(fake.loginAttempts(FOLLOWER), 4)

        const replaced = yield* putJson(CONNECTION, { username: FOLLOWER, password: PASSWORD, patient_id: adaId })
        assert.strictEqual(replaced.status, 200)
        assert.strictEqual(replaced.body.created_at, created.body.created_at)
      })
    )
  )

  it.live("refusals are 400 problems with their reason: a wrong password (tried once), terms to accept", () =>
    withService((fake, frozen) =>
      Effect.gen(function* () {
        const { adaId } = twoPatients(fake, frozen)
        const wrong = { username: FOLLOWER, password: "not-it", patient_id: adaId }
        const refused = yield* putJson(CONNECTION, wrong)
        isProblem(refused, 400, "urn:bg-ingest:problem:credentials-rejected")
        assert.strictEqual(refused.body.reason, "invalid_credentials")
        assert.strictEqual((yield* putJson(CONNECTION, wrong)).body.reason, "recently_refused")
        assert.notInclude(JSON.stringify(refused.body), "not-it")

        fake.setStep(FOLLOWER, "tou")
        const terms = yield* putJson(CONNECTION, { username: FOLLOWER, password: PASSWORD, patient_id: adaId })
        isProblem(terms, 400, "urn:bg-ingest:problem:credentials-rejected")
        assert.strictEqual(terms.body.reason, "action_required")
        assert.include(terms.body.detail, "terms of use")
        assert.strictEqual(fake.stepAcceptances, 0)
        assert.deepStrictEqual((yield* get("/api/bg/alice/connections")).body, [])
      })
    )
  )

  it.live("a malformed patient_id is a 400 naming the field, and costs no login", () =>
    withService((fake, frozen) =>
      Effect.gen(function* () {
        twoPatients(fake, frozen)
        for (const patient_id of ["../../etc", "", "x".repeat(65), 42]) {
          const answer = yield* putJson(CONNECTION, { username: FOLLOWER, password: PASSWORD, patient_id })
          assert.strictEqual(answer.status, 400, JSON.stringify(answer.body))
          assert.strictEqual(answer.contentType, "application/problem+json")
          assert.include(JSON.stringify(answer.body), "patient_id")
          assert.notInclude(JSON.stringify(answer.body), PASSWORD)
        }
        assert.strictEqual(fake.loginAttempts(FOLLOWER), 0)
      })
    )
  )

  it.live("the typed client sends patient_id and decodes patient-choice-required; the OpenAPI document has both", () =>
    withService((fake, frozen) =>
      Effect.gen(function* () {
        const { adaId } = twoPatients(fake, frozen)
        const document = (yield* get("/openapi.json")).body
        const text = JSON.stringify(document)
        assert.include(text, "urn:bg-ingest:problem:patient-choice-required")
        assert.include(text, "patient_id")
        yield* HttpServer.addressFormattedWith((baseUrl) =>
          Effect.gen(function* () {
            const client = yield* BgIngestClient
            const params = { userId: UserId.make("alice"), provider: "libre-link-up" }
            const choice = yield* Effect.flip(
              client.connections.connect({ params, payload: { username: FOLLOWER, password: Redacted.make(PASSWORD) } })
            )
            assert.strictEqual(choice._tag, "PatientChoiceRequiredProblem")
            assert.strictEqual(choice._tag === "PatientChoiceRequiredProblem" ? choice.patients.length : 0, 2)
            const connected = yield* client.connections.connect({
              params,
              payload: { username: FOLLOWER, password: Redacted.make(PASSWORD), patient_id: adaId }
            })
            assert.strictEqual(connected.provider, "libre-link-up")
          }).pipe(Effect.provide(BgIngestClient.layer({ baseUrl })))
        )
      })
    )
  )
})
