import { request as httpRequest } from "node:http"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { domainLayer } from "../support/domain.ts"
import { fiveMinutesAgo, openSite, type SiteCredentials, storedReadings, upload } from "../support/nightscout.ts"
import { get, testServer } from "../support/server.ts"

const core = domainLayer([])
const withSite = <A, E>(body: (site: SiteCredentials) => Effect.Effect<A, E, any>) =>
  Effect.flatMap(openSite("alice"), body).pipe(
    Effect.provide(testServer(core).pipe(Layer.provideMerge(core))),
    Effect.scoped
  )

/** The cells of CSV text as a spreadsheet reads them (RFC 4180: quoted cells, `""` for a quote). */
const csvCells = (text: string): Array<Array<string>> =>
  text.split("\r\n").map((line) => {
    const cells: Array<string> = []
    let cell = ""
    let quoted = false
    for (let index = 0; index < line.length; index++) {
      const character = line[index]!
      if (quoted) {
        if (character === '"' && line[index + 1] === '"') {
          cell += '"'
          index++
        } else if (character === '"') quoted = false
        else cell += character
      } else if (character === '"') quoted = true
      else if (character === ",") {
        cells.push(cell)
        cell = ""
      } else cell += character
    }
    cells.push(cell)
    return cells
  })

const FORMULA = /^[=+\-@\t\r]/

describe("attacks on a user's Nightscout site", () => {
  it.live("a two-digit-year time is that year (before 1970: refused), never read as 19xx", () =>
    withSite((site) =>
      Effect.gen(function* () {
        for (const field of ["dateString", "sysTime"]) {
          const answer = yield* upload(
            "/ns/alice/api/v1/entries",
            [{ type: "sgv", sgv: 120, [field]: "0080-06-01T12:00:00Z" }],
            site.secretHeader
          )
          assert.strictEqual(answer.status, 400, JSON.stringify(answer.body))
          assert.deepStrictEqual(answer.body.errors[0].path, [0, field])
        }
        assert.deepStrictEqual(yield* storedReadings("alice"), [])
        // A reading of 1985, and a bound in the year 99: the bound is before it, not 1999.
        const stored = yield* upload(
          "/ns/alice/api/v1/entries",
          [{ type: "sgv", sgv: 120, date: Date.UTC(1985, 0, 1) }],
          site.secretHeader
        )
        assert.strictEqual(stored.status, 200)
        const before99 = yield* get(
          `/ns/alice/api/v1/entries.json?token=${site.readToken}&find[dateString][$lte]=0099-12-31T00:00:00Z`
        )
        assert.deepStrictEqual(before99.body, [])
      })
    )
  )

  it.live("an uploader's device never becomes a formula or a new cell in the CSV and text answers", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const devices = ['=HYPERLINK("http://example.org/?leak","open")', 'xDrip",=1+1,"', "@SUM(1+1)", "+1+1", "-1+1"]
        const entries = devices.map((device, index) => ({
          type: "sgv",
          sgv: 100 + index,
          date: fiveMinutesAgo(index + 1),
          device
        }))
        assert.strictEqual((yield* upload("/ns/alice/api/v1/entries", entries, site.secretHeader)).status, 200)
        const csv = yield* get(`/ns/alice/api/v1/entries/sgv.csv?token=${site.readToken}&count=10`)
        assert.strictEqual(csv.status, 200)
        const rows = csvCells(csv.body)
        assert.strictEqual(rows.length, devices.length)
        for (const cells of rows) {
          assert.strictEqual(cells.length, 5, JSON.stringify(cells))
          for (const cell of cells) assert.notMatch(cell, FORMULA, JSON.stringify(cells))
        }
        const tsv = yield* get(`/ns/alice/api/v1/entries/sgv.tsv?token=${site.readToken}&count=10`)
        for (const line of String(tsv.body).split("\r\n")) {
          const cells = line.split("\t")
          assert.strictEqual(cells.length, 5)
          for (const cell of cells) assert.notMatch(cell.replace(/^"/, ""), FORMULA, line)
        }
        // JSON answers carry the device as it was sent.
        const json = yield* get(`/ns/alice/api/v1/entries.json?token=${site.readToken}&count=10`)
        assert.sameMembers(
          json.body.map((entry: { device: string }) => entry.device),
          devices
        )
      })
    )
  )
})

/**
 * Starts an upload that declares `bytes` and sends all but the last kilobyte of them, then waits: the server holds
 * what it has read. Answers the status of the answer it gets, if it gets one, and a way to drop the connection.
 */
const heldUpload = (port: number, secretHeader: Record<string, string>, bytes: number) => {
  let resolveStatus: (status: number) => void = () => {}
  const status = new Promise<number>((resolve) => {
    resolveStatus = resolve
  })
  const outgoing = httpRequest({
    host: "127.0.0.1",
    port,
    path: "/api/v1/entries",
    method: "POST",
    agent: false,
    headers: { ...secretHeader, "content-type": "application/json", "content-length": bytes }
  })
  outgoing.on("response", (response) => {
    response.resume()
    resolveStatus(response.statusCode ?? 0)
  })
  outgoing.on("error", () => resolveStatus(0))
  outgoing.write(`[${" ".repeat(bytes - 1024)}`)
  return { status, drop: () => outgoing.destroy() }
}

describe("uploads a site's uploader may send at once", () => {
  it.live("the bodies being received, all sites together, are bounded: beyond it an upload is told to retry", () =>
    withSite((site) =>
      Effect.gen(function* () {
        const port = yield* HttpServer.addressFormattedWith((base) => Effect.succeed(Number(new URL(base).port)))
        // Nine nearly whole 4 MiB uploads that never finish: 36 MiB the server would hold until its timeout.
        const holders = Array.from({ length: 9 }, () => heldUpload(port, site.secretHeader, 4 * 1024 * 1024 - 64))
        try {
          const first = yield* Effect.promise(() => Promise.race(holders.map((holder) => holder.status)))
          assert.strictEqual(first, 503)
        } finally {
          for (const holder of holders) holder.drop()
        }
        // Once they are gone, uploads are received again.
        const answer = yield* upload(
          "/api/v1/entries",
          [{ type: "sgv", sgv: 120, date: fiveMinutesAgo(1) }],
          site.secretHeader
        )
        assert.strictEqual(answer.status, 200, JSON.stringify(answer.body))
      })
    )
  )
})
