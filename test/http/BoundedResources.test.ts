import { connect, type Socket } from "node:net"
import { SERVER_LIMITS, SERVER_OPTIONS } from "@bg-ingest/http/server"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { domainLayer } from "../support/domain.ts"
import { testServer } from "../support/server.ts"
import { webhookHeaders } from "../support/webhook.ts"

const KEY = "bounded-resources-key-0123"
const core = domainLayer([])
const withServer = <A, E>(body: (port: number) => Effect.Effect<A, E, any>) =>
  Effect.gen(function* () {
    const server = yield* HttpServer.HttpServer
    const address = server.address as { readonly port: number }
    return yield* body(address.port)
  }).pipe(Effect.provide(testServer(core, {}, [KEY]).pipe(Layer.provideMerge(core))), Effect.scoped)

interface RawAnswer {
  readonly status: number
  readonly head: string
  readonly body: string
  /** Whether the server closed the connection after answering. */
  readonly closed: boolean
}

/**
 * Sends `head` (and then `body`, if the server has not answered yet) on a raw connection and resolves with the
 * first answer; a server that answers and closes before the whole body was sent is what a 413 at the edge does.
 */
const raw = (port: number, head: string, body = ""): Promise<RawAnswer> =>
  new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1")
    let received = ""
    let closed = false
    const finish = () => {
      const [headPart = "", ...rest] = received.split("\r\n\r\n")
      resolve({ status: Number(headPart.split(" ")[1]), head: headPart, body: rest.join("\r\n\r\n"), closed })
    }
    socket.on("error", () => undefined)
    socket.on("data", (chunk) => {
      received += chunk.toString("utf8")
      const headEnd = received.indexOf("\r\n\r\n")
      const length = /content-length: (\d+)/i.exec(received)
      if (headEnd !== -1 && length !== null && received.length >= headEnd + 4 + Number(length[1])) {
        setTimeout(() => {
          socket.destroy()
          finish()
        }, 50)
      }
    })
    socket.on("close", () => {
      closed = true
      if (received !== "") finish()
      else reject(new Error("closed without an answer"))
    })
    socket.write(head)
    if (body !== "") socket.write(body)
  })

const request = (method: string, path: string, headers: Record<string, string | number>) =>
  `${method} ${path} HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join("")}\r\n`

describe("bodies are bounded on every route, before any key or signature is checked", () => {
  it.live("a declared body over the route's limit is a 413 problem at once, its connection closed unread", () =>
    withServer((port) =>
      Effect.promise(async () => {
        const cases = [
          // 50 MB of credentials, without an API key: refused for its size, not its key, and never read.
          ["PUT", "/api/bg/alice/connections/dexcom-share", 50_000_000],
          ["PUT", "/api/bg/alice/connections/dexcom-share", SERVER_LIMITS.maxBodyBytes + 1],
          ["POST", "/api/bg/alice/connections/simulator/sync", 1_000_000],
          ["GET", "/api/bg/alice/latest", 1_000_000],
          ["POST", "/nowhere", 1_000_000],
          // Unsigned 1 MiB + 1 delivery: refused before its signature is looked at.
          ["POST", "/api/bg/alice/webhook", 1024 * 1024 + 1]
        ] as const
        for (const [method, path, length] of cases) {
          const answer = await raw(
            port,
            request(method, path, { "content-type": "application/json", "content-length": length }),
            "{"
          )
          assert.strictEqual(answer.status, 413, `${method} ${path} ${length}: ${answer.head}`)
          assert.match(answer.head, /content-type: application\/problem\+json/i)
          assert.match(answer.head, /connection: close/i)
          assert.match(answer.head, /cache-control: no-store/i)
          assert.strictEqual(JSON.parse(answer.body).status, 413)
          assert.isTrue(answer.closed)
        }
        // Nightscout uploads have their own, larger limit (their handler bounds them after decompression too).
        for (const path of ["/api/v1/entries", "/ns/alice/api/v1/entries.json"]) {
          const upload = await raw(
            port,
            request("POST", path, { "content-type": "application/json", "content-length": 200 * 1024 + 1 }),
            "{"
          )
          assert.notStrictEqual(upload.status, 413, path)
        }
        // Within the limits, the key is what matters.
        const small = await raw(
          port,
          request("PUT", "/api/bg/alice/connections/dexcom-share", {
            "content-type": "application/json",
            "content-length": 2
          }),
          "{}"
        )
        assert.strictEqual(small.status, 401)
      })
    )
  )

  it.live("a body without a declared length is bounded while it is read (credentials: 16 KiB)", () =>
    withServer((port) =>
      Effect.promise(async () => {
        const chunk = "x".repeat(8 * 1024)
        const chunked = Array.from({ length: 4 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join("")
        const answer = await raw(
          port,
          request("PUT", "/api/bg/alice/connections/dexcom-share", {
            "content-type": "application/json",
            "transfer-encoding": "chunked",
            authorization: `Bearer ${KEY}`
          }),
          `${chunked}0\r\n\r\n`
        )
        assert.strictEqual(answer.status, 413, answer.head)
        assert.strictEqual(JSON.parse(answer.body).status, 413, JSON.stringify(answer))
      })
    )
  )
})

describe("webhook bodies in flight are capped, all deliveries together", () => {
  it.live("slow senders holding the budget make the next delivery a 503 busy, which passes once they go", () =>
    withServer((port) =>
      Effect.promise(async () => {
        const holders = Math.floor(SERVER_LIMITS.maxWebhookBytesInFlight / (1024 * 1024))
        const path = "/api/bg/alice/webhook"
        const body = '{"readings":[]}'
        const signed = webhookHeaders(path, body)
        const sockets: Array<Socket> = []
        // Each declares 1 MiB, sends its headers and a few bytes, and stalls.
        for (let index = 0; index < holders; index++) {
          const socket = connect(port, "127.0.0.1")
          socket.on("error", () => undefined)
          socket.write(request("POST", path, { ...signed, "content-length": 1024 * 1024 }))
          socket.write("{")
          sockets.push(socket)
        }
        const next = () =>
          raw(port, request("POST", path, { ...webhookHeaders(path, body), "content-length": body.length }), body)
        // The stalled deliveries reach the handler in their own time: wait until the budget is taken.
        let busy = await next()
        for (let attempt = 0; attempt < 100 && busy.status !== 503; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 50))
          busy = await next()
        }
        assert.strictEqual(busy.status, 503, busy.head)
        assert.strictEqual(JSON.parse(busy.body).type, "urn:bg-ingest:problem:busy")
        for (const socket of sockets) socket.destroy()
        let accepted = await next()
        for (let attempt = 0; attempt < 100 && accepted.status !== 202; attempt++) {
          await new Promise((resolve) => setTimeout(resolve, 50))
          accepted = await next()
        }
        assert.strictEqual(accepted.status, 202, accepted.body)
      })
    )
  )
})

describe("slow clients time out", () => {
  it("the server's limits suit an API", () => {
    assert.isAtMost(SERVER_OPTIONS.headersTimeout!, 10_000)
    assert.isAtMost(SERVER_OPTIONS.requestTimeout!, 30_000)
    assert.isAtMost(SERVER_OPTIONS.keepAliveTimeout!, 5_000)
    assert.isAtMost(SERVER_OPTIONS.connectionsCheckingInterval!, 1_000)
    assert.isAtMost(SERVER_LIMITS.maxConnections, 1024)
  })

  it.live(
    "a client that never finishes its headers is answered 408 and dropped",
    () =>
      withServer((port) =>
        Effect.promise(async () => {
          const answer = await new Promise<string>((resolve) => {
            const socket = connect(port, "127.0.0.1")
            let received = ""
            socket.on("error", () => undefined)
            socket.on("data", (chunk) => {
              received += chunk.toString("utf8")
            })
            socket.on("close", () => resolve(received))
            socket.write("GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nx-slow: ")
          })
          assert.match(answer, /^HTTP\/1\.1 408/)
        })
      ),
    60_000
  )
})
