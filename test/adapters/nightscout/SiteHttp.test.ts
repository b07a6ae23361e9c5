import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import { createServer as createTlsServer } from "node:https"
import type { AddressInfo } from "node:net"
import {
  checkedAddress,
  developmentSitePolicy,
  type SiteHttpOptions,
  type SiteResolver,
  siteGet,
  strictSitePolicy
} from "@bg-ingest/adapters/nightscout"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { selfSignedCertificate } from "../../support/tls.ts"

interface Seen {
  readonly host: string | undefined
  readonly path: string
  readonly headers: IncomingHttpHeaders
}

/** A loopback server that records what reaches it and answers as `respond` says. */
const listen = (server: Server) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)))

const seen: Array<Seen> = []
let port = 0
let hanging = 0
const site = createServer((request, response) => {
  seen.push({ host: request.headers.host, path: request.url ?? "", headers: request.headers })
  if (request.url === "/redirect") {
    response.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" })
    return response.end()
  }
  if (request.url === "/large") {
    response.writeHead(200)
    return response.end("x".repeat(4096))
  }
  if (request.url === "/hang") {
    hanging += 1
    return
  }
  response.writeHead(200, { "content-type": "application/json" })
  response.end(JSON.stringify({ path: request.url }))
})

beforeAll(async () => {
  port = await listen(site)
})
afterAll(() => {
  site.closeAllConnections()
  site.close()
})

/** A resolver that answers from a table and counts how often each name was asked. */
const resolverOf = (table: Record<string, ReadonlyArray<string> | (() => ReadonlyArray<string>)>) => {
  const asked: Array<string> = []
  const resolve: SiteResolver = async (hostname) => {
    asked.push(hostname)
    const entry = table[hostname]
    const addresses = typeof entry === "function" ? entry() : entry
    if (addresses === undefined) throw Object.assign(new Error("not found"), { code: "ENOTFOUND" })
    return addresses.map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
  }
  return { resolve, asked }
}

const options = (resolve: SiteResolver, overrides: Partial<SiteHttpOptions> = {}): SiteHttpOptions => ({
  policy: developmentSitePolicy,
  resolve,
  timeout: Duration.seconds(10),
  maxBodyBytes: 1024,
  ...overrides
})

const outcome = <A>(effect: Effect.Effect<A, { readonly reason: string }>) =>
  effect.pipe(
    Effect.map((value) => ({ ok: true as const, value })),
    Effect.catch((failure) => Effect.succeed({ ok: false as const, reason: failure.reason }))
  )

describe("requests to a user's site", () => {
  it.live("connect to the address checked, for the name asked: the Host header stays the site's", () =>
    Effect.gen(function* () {
      const { resolve, asked } = resolverOf({ "my-site.test": ["127.0.0.1"] })
      const before = seen.length
      const answer = yield* siteGet(
        new URL(`http://my-site.test:${port}/api/v1/status.json?token=t`),
        { accept: "application/json" },
        options(resolve)
      )
      assert.strictEqual(answer.status, 200)
      assert.deepStrictEqual(JSON.parse(answer.body), { path: "/api/v1/status.json?token=t" })
      assert.strictEqual(seen[before]!.host, `my-site.test:${port}`)
      assert.strictEqual(seen[before]!.headers.accept, "application/json")
      // Resolved once, by the checked resolver: the system resolver (which knows no `my-site.test`) is never asked.
      assert.deepStrictEqual(asked, ["my-site.test"])
    })
  )

  it.live("strict: the loopback fake is never reached, whatever the URL's form", () =>
    Effect.gen(function* () {
      const { resolve } = resolverOf({ "localhost.test": ["127.0.0.1"], "mapped.test": ["::ffff:127.0.0.1"] })
      const before = seen.length
      for (const url of [
        `https://localhost.test:${port}/`,
        `https://mapped.test:${port}/`,
        `https://127.0.0.1:${port}/`,
        `https://2130706433:${port}/`,
        `http://8.8.8.8:${port}/`
      ]) {
        const result = yield* outcome(siteGet(new URL(url), {}, options(resolve, { policy: strictSitePolicy })))
        assert.deepStrictEqual(result, { ok: false, reason: url.startsWith("http:") ? "scheme" : "address" }, url)
      }
      assert.strictEqual(seen.length, before)
    })
  )

  it.live("the name is checked again before every request: one that starts resolving to loopback is refused", () =>
    Effect.gen(function* () {
      let calls = 0
      // Public when the site was connected, loopback afterwards: DNS rebinding.
      const { resolve, asked } = resolverOf({
        "rebind.test": () => (++calls === 1 ? ["93.184.215.14"] : ["127.0.0.1"])
      })
      const policy = { allowHttp: true, allowPrivateAddresses: false }
      const atConnect = yield* Effect.promise(() =>
        checkedAddress(new URL(`http://rebind.test:${port}/`), policy, resolve)
      )
      assert.isTrue(atConnect.ok)
      const before = seen.length
      const later = yield* outcome(siteGet(new URL(`http://rebind.test:${port}/`), {}, options(resolve, { policy })))
      assert.deepStrictEqual(later, { ok: false, reason: "address" })
      assert.deepStrictEqual(asked, ["rebind.test", "rebind.test"])
      assert.strictEqual(seen.length, before)
    })
  )

  it.live("a redirect is answered, never followed; a large answer is cut; a site that never answers times out", () =>
    Effect.gen(function* () {
      const { resolve } = resolverOf({})
      const before = seen.length
      const redirect = yield* siteGet(new URL(`http://127.0.0.1:${port}/redirect`), {}, options(resolve))
      assert.strictEqual(redirect.status, 302)
      assert.strictEqual(seen.length, before + 1)
      const large = yield* outcome(siteGet(new URL(`http://127.0.0.1:${port}/large`), {}, options(resolve)))
      assert.deepStrictEqual(large, { ok: false, reason: "too_large" })
      const hung = yield* outcome(
        siteGet(new URL(`http://127.0.0.1:${port}/hang`), {}, options(resolve, { timeout: Duration.millis(100) }))
      )
      assert.deepStrictEqual(hung, { ok: false, reason: "timeout" })
      assert.strictEqual(hanging, 1)
      const refused = yield* outcome(siteGet(new URL("http://127.0.0.1:1/"), {}, options(resolve)))
      assert.deepStrictEqual(refused, { ok: false, reason: "transport" })
    })
  )

  const certificate = selfSignedCertificate()
  it.live.skipIf(!certificate.available)("https checks the certificate: a self-signed one is refused", () =>
    Effect.gen(function* () {
      const tls = certificate as { key: string; cert: string }
      const server = createTlsServer({ key: tls.key, cert: tls.cert }, (_request, response) => response.end("{}"))
      const tlsPort = yield* Effect.promise(() => listen(server))
      yield* Effect.addFinalizer(() => Effect.sync(() => server.close()))
      const { resolve } = resolverOf({ "self-signed.test": ["127.0.0.1"] })
      const result = yield* outcome(siteGet(new URL(`https://self-signed.test:${tlsPort}/`), {}, options(resolve)))
      assert.deepStrictEqual(result, { ok: false, reason: "transport" })
    })
  )
})
