import { request as httpRequest } from "node:http"
import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { domainLayer } from "../support/domain.ts"
import { testServer } from "../support/server.ts"

const core = domainLayer([])
const withServer = <A, E>(body: (port: number) => Effect.Effect<A, E, any>) =>
  Effect.gen(function* () {
    const now = yield* DateTime.now
    const reading = makeReading({
      userId: UserId.make("u1"),
      timestamp: DateTime.subtract(now, { minutes: 2 }),
      glucoseMgDl: 101,
      source: { provider: ProviderId.make("test"), recordId: null }
    })
    yield* Ingest.use((ingest) => ingest.ingest(reading.userId, [reading]))
    const server = yield* HttpServer.HttpServer
    return yield* body((server.address as { readonly port: number }).port)
  }).pipe(Effect.provide(testServer(core).pipe(Layer.provideMerge(core))), Effect.scoped)

interface Answer {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly body: string
}

/** A request with its path exactly as given: no URL parser normalizes it on the way. */
const send = (port: number, method: string, path: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const outgoing = httpRequest({ host: "127.0.0.1", port, method, path, agent: false }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk) => {
        body += chunk
      })
      response.on("end", () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body }))
    })
    outgoing.on("error", reject)
    outgoing.end()
  })

const problem = (answer: Answer, status: number, text: string) => {
  assert.strictEqual(answer.status, status, `${text}: ${answer.body}`)
  assert.strictEqual(answer.headers["content-type"], "application/problem+json", text)
  return JSON.parse(answer.body)
}

describe("routing: canonical, case-sensitive paths only", () => {
  it.live("other spellings of a path are no route (404), never served", () =>
    withServer((port) =>
      Effect.promise(async () => {
        assert.strictEqual((await send(port, "GET", "/api/bg/u1/latest")).status, 200)
        for (const path of [
          "/API/bg/u1/latest",
          "/Api/bg/u1/latest",
          "/api/BG/u1/latest",
          "//api/bg/u1/latest",
          "/api//bg/u1/latest",
          "/api/bg/u1//latest",
          "/api/bg/u1/latest/",
          "/api/bg/u1/LATEST",
          "/api/./bg/u1/latest",
          "/api/bg/u1/./latest",
          "/api/x/../bg/u1/latest",
          "/HEALTH",
          "/health/"
        ]) {
          problem(await send(port, "GET", path), 404, path)
        }
      })
    )
  )

  it.live("a user id is never a dot segment, and a too-long one is a 400 naming userId", () =>
    withServer((port) =>
      Effect.promise(async () => {
        for (const path of [
          "/api/bg/./latest",
          "/api/bg/../latest",
          "/api/bg/%2e%2e/latest",
          "/api/bg/%2E/latest",
          "/api/bg/.u1/latest",
          "/api/bg/-u1/latest",
          `/api/bg/${"a".repeat(129)}/latest`,
          `/api/bg/${"a".repeat(300)}/latest`,
          `/api/bg/${"a".repeat(300)}`,
          `/api/bg/${"a".repeat(300)}/connections`
        ]) {
          const body = problem(await send(port, "GET", path), 400, path.slice(0, 60))
          assert.deepStrictEqual(body.errors[0].path, ["params", "userId"], path.slice(0, 60))
        }
        const webhook = await send(port, "POST", `/api/bg/${"a".repeat(300)}/webhook`)
        assert.deepStrictEqual(problem(webhook, 400, "webhook").errors[0].path, ["params", "userId"])
        assert.strictEqual((await send(port, "GET", `/api/bg/${"a".repeat(128)}/latest`)).status, 404)
      })
    )
  )

  it.live("HEAD is real where Allow says so: the GET answer without its body", () =>
    withServer((port) =>
      Effect.promise(async () => {
        const wrong = await send(port, "DELETE", "/api/bg/u1/latest")
        problem(wrong, 405, "DELETE")
        assert.strictEqual(wrong.headers.allow, "GET, HEAD")
        const head = await send(port, "HEAD", "/api/bg/u1/latest")
        const get = await send(port, "GET", "/api/bg/u1/latest")
        assert.deepStrictEqual([head.status, head.body], [200, ""])
        assert.strictEqual(head.headers["content-type"], get.headers["content-type"])
        assert.strictEqual((await send(port, "HEAD", "/health")).status, 200)
        assert.strictEqual((await send(port, "HEAD", "/api/bg/nobody/latest")).status, 404)
        assert.strictEqual((await send(port, "HEAD", "/API/bg/u1/latest")).status, 404)
      })
    )
  )
})
