import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

/** A fake provider's HTTP server on an ephemeral loopback port. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string
  /** Stops listening and drops every open connection. */
  readonly close: () => Promise<void>
}

export interface FakeHandlers {
  readonly handle: (request: IncomingMessage, response: ServerResponse) => Promise<void>
  /** Answers a request whose handler threw, when nothing was sent yet, as the real service would fail. */
  readonly onError: (request: IncomingMessage, response: ServerResponse, error: unknown) => void
  /** Anything else the fake needs of its server before it listens (more listeners, such as `clientError`). */
  readonly setup?: (server: Server) => void
}

/** Starts a `node:http` server for a fake on 127.0.0.1, port 0. */
export const startFakeServer = (handlers: FakeHandlers): Promise<FakeServer> =>
  new Promise((resolve, reject) => {
    const server = createServer((request, response) => {
      handlers.handle(request, response).catch((error) => {
        if (!response.headersSent) handlers.onError(request, response, error)
        else response.destroy()
      })
    })
    handlers.setup?.(server)
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        close: () =>
          new Promise<void>((closed) => {
            server.closeAllConnections()
            server.close(() => closed())
          })
      })
    })
  })

/** A started fake (anything with `close`) for the life of the scope. */
export const scopedFake = <F extends { readonly close: () => Promise<void> }>(start: () => Promise<F>) =>
  Effect.acquireRelease(Effect.promise(start), (fake) => Effect.promise(() => fake.close()))

/** The request's body as text; more than `limit` bytes fails the request. */
export const readBody = (request: IncomingMessage, limit = 1_048_576): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    let size = 0
    request.on("data", (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(new Error("body too large"))
        request.destroy()
        return
      }
      chunks.push(chunk)
    })
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    request.on("error", reject)
  })
