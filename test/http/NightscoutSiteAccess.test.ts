import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { domainLayer } from "../support/domain.ts"
import { fiveMinutesAgo, openSite, rawGet, sha1, storedReadings, upload } from "../support/nightscout.ts"
import { del, get, post, testServer } from "../support/server.ts"

const core = domainLayer([])
const withServer = <A, E>(body: Effect.Effect<A, E, any>, apiKeys: ReadonlyArray<string> = []) =>
  body.pipe(Effect.provide(testServer(core, {}, apiKeys).pipe(Layer.provideMerge(core))), Effect.scoped)

const entry = (sgv: number, steps = 1) => ({ type: "sgv", sgv, date: fiveMinutesAgo(steps), direction: "Flat" })

const UNAUTHORIZED = { status: 401, message: "Unauthorized", description: "Invalid/Missing" }

const refusalsCounted = Effect.map(get("/metrics"), (answer) => {
  const line = String(answer.body)
    .split("\n")
    .find((l) => l.startsWith("bg_ingest_nightscout_refusals_total"))
  return line === undefined ? 0 : Number(line.split(" ").at(-1))
})

describe("Nightscout site credentials and access", () => {
  it.live("POST opens the site (201) with credentials shown once and never cached; again rotates them (200)", () =>
    withServer(
      Effect.gen(function* () {
        const first = yield* post("/api/bg/alice/nightscout")
        assert.strictEqual(first.status, 201)
        assert.strictEqual(first.headers["cache-control"], "no-store")
        assert.strictEqual(first.body.site_path, "/ns/alice")
        assert.match(first.body.api_secret, /^[A-Za-z0-9]{32}$/)
        assert.match(first.body.read_token, /^follower-[0-9a-f]{32}$/)
        const second = yield* post("/api/bg/alice/nightscout")
        assert.strictEqual(second.status, 200)
        assert.notStrictEqual(second.body.api_secret, first.body.api_secret)
        assert.notStrictEqual(second.body.read_token, first.body.read_token)
      })
    )
  )

  it.live("rotation kills the old credentials at once, under /ns and at the root; DELETE closes the site", () =>
    withServer(
      Effect.gen(function* () {
        const old = yield* openSite("alice")
        const current = yield* openSite("alice")
        const read = (path: string, headers: Record<string, string>) =>
          Effect.map(get(path, headers), (answer) => answer.status)
        const statuses = (credentials: typeof old) =>
          Effect.all([
            read(`/ns/alice/api/v1/entries.json?token=${credentials.readToken}`, {}),
            read("/ns/alice/api/v1/entries.json", credentials.secretHeader),
            read(`/api/v1/entries.json?token=${credentials.readToken}`, {}),
            read("/api/v1/entries.json", credentials.secretHeader),
            Effect.map(upload("/ns/alice/api/v1/entries", [entry(100)], credentials.secretHeader), (a) => a.status)
          ])
        assert.deepStrictEqual(yield* statuses(old), [401, 401, 401, 401, 401])
        assert.deepStrictEqual(yield* statuses(current), [200, 200, 200, 200, 200])

        const closed = yield* del("/api/bg/alice/nightscout")
        assert.strictEqual(closed.status, 204)
        assert.deepStrictEqual(yield* statuses(current), [401, 401, 401, 401, 401])
        const again = yield* del("/api/bg/alice/nightscout")
        assert.strictEqual(again.status, 404)
        assert.strictEqual(again.contentType, "application/problem+json")
        // Readings stay when the site closes; a new site serves them with new credentials.
        assert.strictEqual((yield* storedReadings("alice")).length, 1)
        const reopened = yield* openSite("alice")
        const served = yield* get(`/ns/alice/api/v1/entries.json?token=${reopened.readToken}`)
        assert.deepStrictEqual(
          served.body.map((e: { sgv: number }) => e.sgv),
          [100]
        )
      })
    )
  )

  it.live(
    "with API keys configured, opening and closing a site need one; the site itself needs its own credential",
    () =>
      withServer(
        Effect.gen(function* () {
          const key = { authorization: "Bearer nightscout-test-key-0123456789" }
          assert.strictEqual((yield* post("/api/bg/alice/nightscout")).status, 401)
          assert.strictEqual((yield* del("/api/bg/alice/nightscout")).status, 401)
          const site = yield* openSite("alice", key)
          // The API key is not a site credential, and the site credential is not an API key.
          assert.strictEqual((yield* get("/ns/alice/api/v1/entries.json", key)).status, 401)
          assert.strictEqual((yield* get("/api/v1/entries.json", key)).status, 401)
          assert.strictEqual((yield* get("/ns/alice/api/v1/entries.json", site.secretHeader)).status, 200)
          assert.strictEqual((yield* get("/api/bg/alice/latest", site.secretHeader)).status, 401)
        }),
        ["nightscout-test-key-0123456789"]
      )
  )

  it.live(
    "reads take the secret (SHA-1, any case), the token (query, header, or its SHA-1); writes only the secret",
    () =>
      withServer(
        Effect.gen(function* () {
          const site = yield* openSite("alice")
          const readWith = (path: string, headers: Record<string, string> = {}) =>
            Effect.map(get(path, headers), (answer) => answer.status)
          assert.deepStrictEqual(
            yield* Effect.all([
              readWith("/ns/alice/api/v1/entries.json", site.secretHeader),
              readWith("/ns/alice/api/v1/entries.json", { "api-secret": sha1(site.apiSecret).toUpperCase() }),
              readWith(`/ns/alice/api/v1/entries.json?secret=${sha1(site.apiSecret)}`),
              readWith(`/ns/alice/api/v1/entries.json?token=${site.readToken}`),
              readWith("/ns/alice/api/v1/entries.json", { "api-secret": site.readToken }),
              readWith("/ns/alice/api/v1/entries.json", { "api-secret": sha1(site.readToken) }),
              readWith(`/ns/alice/api/v1/entries.json?token=${sha1(site.readToken)}`)
            ]),
            [200, 200, 200, 200, 200, 200, 200]
          )
          const write = (headers: Record<string, string>, query = "") =>
            Effect.map(upload(`/ns/alice/api/v1/entries.json${query}`, [entry(120)], headers), (answer) => [
              answer.status,
              answer.body
            ])
          const before = yield* refusalsCounted
          assert.deepStrictEqual(yield* write({}, `?token=${site.readToken}`), [401, UNAUTHORIZED])
          assert.deepStrictEqual(yield* write({ "api-secret": site.readToken }), [401, UNAUTHORIZED])
          assert.deepStrictEqual(yield* write({ "api-secret": sha1(site.readToken) }), [401, UNAUTHORIZED])
          // The plain secret is never a credential: clients send its SHA-1.
          assert.deepStrictEqual(yield* write({ "api-secret": site.apiSecret }), [401, UNAUTHORIZED])
          assert.deepStrictEqual(yield* write({}, `?token=${site.apiSecret}`), [401, UNAUTHORIZED])
          assert.deepStrictEqual(yield* write({}), [401, UNAUTHORIZED])
          assert.strictEqual((yield* refusalsCounted) - before, 6)
          assert.deepStrictEqual(yield* storedReadings("alice"), [])
          assert.strictEqual((yield* write(site.secretHeader))[0], 200)
          assert.strictEqual((yield* storedReadings("alice")).length, 1)
        })
      )
  )

  it.live("one user's credentials never read or write another's site, under /ns or at the root", () =>
    withServer(
      Effect.gen(function* () {
        const alice = yield* openSite("alice")
        const bob = yield* openSite("bob")
        assert.strictEqual((yield* upload("/ns/alice/api/v1/entries", [entry(111)], alice.secretHeader)).status, 200)
        assert.strictEqual((yield* upload("/ns/bob/api/v1/entries", [entry(222)], bob.secretHeader)).status, 200)

        assert.strictEqual((yield* get(`/ns/alice/api/v1/entries.json?token=${bob.readToken}`)).status, 401)
        assert.strictEqual((yield* get("/ns/alice/api/v1/entries.json", bob.secretHeader)).status, 401)
        assert.strictEqual((yield* upload("/ns/alice/api/v1/entries", [entry(333)], bob.secretHeader)).status, 401)
        // Two users' credentials in one request name no one.
        assert.strictEqual((yield* get(`/api/v1/entries.json?token=${alice.readToken}`, bob.secretHeader)).status, 401)
        // At the root the credential names the user: each sees and writes only their own readings.
        const rootAlice = yield* get(`/api/v1/entries.json?token=${alice.readToken}`)
        const rootBob = yield* get("/api/v1/entries.json", bob.secretHeader)
        assert.deepStrictEqual(
          [rootAlice.body.map((e: { sgv: number }) => e.sgv), rootBob.body.map((e: { sgv: number }) => e.sgv)],
          [[111], [222]]
        )
        assert.strictEqual((yield* upload("/api/v1/entries.json", [entry(140, 2)], bob.secretHeader)).status, 200)
        assert.deepStrictEqual(
          (yield* storedReadings("alice")).map((r) => r.glucoseMgDl),
          [111]
        )
        assert.deepStrictEqual(
          (yield* storedReadings("bob")).map((r) => r.glucoseMgDl),
          [140, 222]
        )
        // Entry ids are per user: bob's id does not lead to alice's reading at the same instant.
        const bobId = rootBob.body[0]._id as string
        const lookup = yield* get(`/ns/alice/api/v1/entries/${bobId}.json?token=${alice.readToken}`)
        assert.deepStrictEqual([lookup.status, lookup.body], [200, []])
        // Without a credential, or with an unknown one, the root is a 401.
        assert.strictEqual((yield* get("/api/v1/entries.json")).status, 401)
        assert.strictEqual(
          (yield* get("/api/v1/entries.json?token=follower-00000000000000000000000000000000")).status,
          401
        )
      })
    )
  )

  it.live("path tricks reach no other user's site", () =>
    withServer(
      Effect.gen(function* () {
        const alice = yield* openSite("alice")
        yield* openSite("bob")
        yield* upload("/ns/bob/api/v1/entries", [entry(222)], (yield* openSite("bob")).secretHeader)
        const token = `token=${alice.readToken}`
        for (const path of [
          `/ns/alice/../bob/api/v1/entries.json?${token}`,
          `/ns/alice/%2e%2e/bob/api/v1/entries.json?${token}`,
          `/ns/alice%2F..%2Fbob/api/v1/entries.json?${token}`,
          `/ns/bob;alice/api/v1/entries.json?${token}`,
          `/ns/bob%00alice/api/v1/entries.json?${token}`,
          `/ns/BOB/api/v1/entries.json?${token}`,
          `/ns//bob/api/v1/entries.json?${token}`,
          `/ns/bob/api/v1/entries.json?token=${alice.readToken}&token=${alice.readToken}`
        ]) {
          const answer = yield* rawGet(path)
          assert.notInclude(answer.body, "222", path)
          assert.isTrue([400, 401, 404].includes(answer.status), `${path}: ${answer.status} ${answer.body}`)
        }
      })
    )
  )

  it.live("verifyauth is always 200 and says what the credential may do", () =>
    withServer(
      Effect.gen(function* () {
        const site = yield* openSite("alice")
        const verify = (path: string, headers: Record<string, string> = {}) =>
          Effect.map(get(path, headers), (answer) => {
            assert.strictEqual(answer.status, 200)
            const { canRead, canWrite, message } = answer.body.message
            return [canRead, canWrite, message]
          })
        assert.deepStrictEqual(yield* verify("/ns/alice/api/v1/verifyauth", site.secretHeader), [true, true, "OK"])
        assert.deepStrictEqual(yield* verify(`/api/v1/verifyauth?token=${site.readToken}`), [true, false, "OK"])
        assert.deepStrictEqual(yield* verify("/ns/alice/api/v1/verifyauth"), [false, false, "UNAUTHORIZED"])
        assert.deepStrictEqual(yield* verify("/api/v1/verifyauth", { "api-secret": sha1("wrong") }), [
          false,
          false,
          "UNAUTHORIZED"
        ])
        const experiments = (path: string, headers: Record<string, string> = {}) =>
          Effect.map(get(path, headers), (answer) => [answer.status, answer.body])
        assert.deepStrictEqual(yield* experiments("/ns/alice/api/v1/experiments/test", site.secretHeader), [
          200,
          { status: "ok" }
        ])
        assert.strictEqual((yield* experiments(`/api/v1/experiments/test?token=${site.readToken}`))[0], 401)
        assert.deepStrictEqual(yield* verify("/ns/bob/api/v1/verifyauth", site.secretHeader), [
          false,
          false,
          "UNAUTHORIZED"
        ])
      })
    )
  )

  it.live("status, the collections it does not keep and pebble need a credential too", () =>
    withServer(
      Effect.gen(function* () {
        const site = yield* openSite("alice")
        yield* upload("/ns/alice/api/v1/entries", [entry(120, 2), entry(126, 1)], site.secretHeader)
        for (const path of ["status.json", "status", "treatments", "treatments.json", "devicestatus.json", "profile"]) {
          assert.strictEqual((yield* get(`/ns/alice/api/v1/${path}`)).status, 401, path)
          assert.strictEqual((yield* get(`/api/v1/${path}`)).status, 401, path)
        }
        const status = yield* get(`/ns/alice/api/v1/status.json?token=${site.readToken}`)
        assert.deepStrictEqual(
          [status.body.status, status.body.apiEnabled, status.body.settings.units],
          ["ok", true, "mg/dl"]
        )
        for (const path of ["treatments", "treatments.json", "devicestatus", "devicestatus.json", "profile.json"]) {
          const answer = yield* get(`/api/v1/${path}?token=${site.readToken}`)
          assert.deepStrictEqual([answer.status, answer.body], [200, []], path)
        }
        const devicestatus = [{ device: "openaps://phone", uploader: { battery: 80 } }]
        assert.deepStrictEqual(
          [(yield* upload("/ns/alice/api/v1/devicestatus.json", devicestatus, site.secretHeader)).status],
          [200]
        )
        assert.strictEqual((yield* upload(`/ns/alice/api/v1/treatments?token=${site.readToken}`, [], {})).status, 401)
        const pebble = yield* get(`/ns/alice/pebble?count=2&token=${site.readToken}`)
        assert.deepStrictEqual(
          pebble.body.bgs.map((bg: { sgv: string; bgdelta: number }) => [bg.sgv, bg.bgdelta]),
          [
            ["126", 6],
            ["120", 0]
          ]
        )
        const mmol = yield* get(`/pebble?units=mmol&token=${site.readToken}`)
        assert.strictEqual(mmol.status, 200)
        assert.strictEqual(mmol.body.bgs[0].sgv, "7.0")
      })
    )
  )
})
