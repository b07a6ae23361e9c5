import { mkdirSync, writeFileSync } from "node:fs"
import { Ingest, makeReading, ProviderId, UserId } from "@bg-ingest/domain"
import { assert, layer } from "@effect/vitest"
import { DateTime, Effect, Layer } from "effect"
import { HttpServer } from "effect/http"
import { type Browser, chromium, launchChromium } from "../support/chromium.ts"
import { domainLayer } from "../support/domain.ts"
import { at } from "../support/glucoseSeries.ts"
import { get, testServer } from "../support/server.ts"

if (!chromium.available) console.warn(`[skip] the report in a real browser: ${chromium.reason}`)

/** Where the screenshot goes: .tmp/ always; docs/report.png for the documentation when REPORT_SCREENSHOT=docs. */
const SCREENSHOTS = [".tmp/report.png", ...(process.env.REPORT_SCREENSHOT === "docs" ? ["docs/report.png"] : [])]

const USER = UserId.make("demo-1")
const START = at("2025-03-24T00:00:00Z")
/** Two weeks every 5 minutes around Berlin's change to summer time: meals, a night low, a sensor gap. */
const readings = Array.from({ length: 14 * 288 }, (_, index) => index)
  .filter((index) => index < 2000 || index > 2030)
  .map((index) => {
    const hour = (index % 288) / 12
    const meals = [7.5, 12.5, 19]
      .map((meal) => 90 * Math.exp(-(((hour - meal - 1) / 1.1) ** 2)))
      .reduce((a, b) => a + b, 0)
    const night = index % 576 < 288 ? -55 * Math.exp(-(((hour - 3.5) / 1) ** 2)) : 0
    const day = 12 * Math.sin(index / 97)
    return makeReading({
      userId: USER,
      timestamp: DateTime.add(START, { minutes: index * 5 }),
      glucoseMgDl: Math.max(40, Math.round(115 + meals + night + day + 10 * Math.sin(index / 7))),
      source: { provider: ProviderId.make("simulator"), recordId: null }
    })
  })

const seeded = Layer.effectDiscard(Ingest.use((ingest) => ingest.ingest(USER, readings))).pipe(
  Layer.provideMerge(domainLayer([]))
)

const QUERY = "from=2025-03-23T23:00:00Z&to=2025-04-06T22:00:00Z&tz=Europe/Berlin"

/** Everything the page shows that the summary also answers, read from the rendered document. */
const EXTRACT = `(() => {
  const fields = {}
  for (const cell of document.querySelectorAll("[data-field][data-value]")) {
    fields[cell.dataset.field] = { value: JSON.parse(cell.dataset.value), text: cell.textContent.trim() }
  }
  const ranges = {}
  for (const cell of document.querySelectorAll(".tir-legend [data-field]")) ranges[cell.dataset.field] = cell.textContent.trim()
  const agp = [...document.querySelectorAll("svg.agp rect.bin")].map((bin) =>
    Object.fromEntries(["minute", "n", "p5", "p25", "p50", "p75", "p95"].map((key) => [key, Number(bin.dataset[key])])))
  const bar = [...document.querySelectorAll("svg.tir-bar rect")].map((rect) => [rect.getAttribute("class"), rect.getBBox().height])
  const days = [...document.querySelectorAll("figure.day")].map((day) => [day.dataset.date, Number(day.dataset.readings), day.querySelector("figcaption").textContent])
  return {
    fields, ranges, agp, bar, days,
    tz: document.querySelector("[data-field=tz]").textContent,
    medianLines: document.querySelectorAll("svg.agp polyline.median").length,
    bands: document.querySelectorAll("svg.agp polygon").length,
    scripts: document.scripts.length,
    width: document.documentElement.scrollWidth,
    height: document.documentElement.scrollHeight
  }
})()`

interface Page {
  readonly sessionId: string
  readonly requests: Array<string>
  readonly problems: Array<string>
}

const openPage = async (browser: Browser, url: string, width: number, bypassCsp = false): Promise<Page> => {
  const { targetId } = await browser.send("Target.createTarget", { url: "about:blank" })
  const { sessionId } = await browser.send("Target.attachToTarget", { targetId, flatten: true })
  const page: Page = { sessionId, requests: [], problems: [] }
  // Every request the page makes is paused here and recorded; only the report itself may go through.
  browser.on("Fetch.requestPaused", (params, from) => {
    if (from !== sessionId) return
    page.requests.push(params.request.url)
    void (params.request.url === url
      ? browser.send("Fetch.continueRequest", { requestId: params.requestId }, sessionId)
      : browser.send("Fetch.failRequest", { requestId: params.requestId, errorReason: "BlockedByClient" }, sessionId))
  })
  browser.on("Log.entryAdded", (params, from) => from === sessionId && page.problems.push(params.entry.text))
  browser.on("Audits.issueAdded", (params, from) => from === sessionId && page.problems.push(params.issue.code))
  for (const domain of ["Page", "Runtime", "Log", "Audits"]) await browser.send(`${domain}.enable`, {}, sessionId)
  await browser.send("Fetch.enable", { patterns: [{ urlPattern: "*" }] }, sessionId)
  if (bypassCsp) await browser.send("Page.setBypassCSP", { enabled: true }, sessionId)
  await browser.send(
    "Emulation.setDeviceMetricsOverride",
    { width, height: 900, deviceScaleFactor: 1, mobile: false },
    sessionId
  )
  const loaded = browser.next("Page.loadEventFired", sessionId)
  await browser.send("Page.navigate", { url }, sessionId)
  await loaded
  return page
}

const evaluate = async (browser: Browser, page: Page, expression: string) =>
  (await browser.send("Runtime.evaluate", { expression, returnByValue: true }, page.sessionId)).result.value

const number = (text: string) => Number.parseFloat(text.replace(/,/g, ""))

layer(testServer(seeded), { excludeTestServices: true })("the report in a real browser (headless Chromium)", (it) => {
  it.effect.skipIf(!chromium.available)(
    "renders offline, loads nothing else, shows the summary's numbers, fits A4 and 1200 px",
    () =>
      HttpServer.addressFormattedWith((base) =>
        Effect.gen(function* () {
          const summary = (yield* get(`/api/bg/demo-1/summary?${QUERY}`)).body
          const url = `${base}/api/bg/demo-1/report?${QUERY}`
          const browser = yield* Effect.acquireRelease(
            Effect.promise(() => launchChromium()),
            (b) => Effect.promise(() => b.close())
          )
          const run = <A>(body: () => Promise<A>) => Effect.promise(body)

          // At 1200 px, under the page's own CSP.
          const page = yield* run(() => openPage(browser, url, 1200))
          const shown = yield* run(() => evaluate(browser, page, EXTRACT))
          assert.deepStrictEqual(page.requests, [url])
          assert.deepStrictEqual(page.problems, [])
          assert.strictEqual(shown.scripts, 0)
          assert.isAtMost(shown.width, 1200)

          // The numbers on the page are the summary's, in the data and in the text a reader sees.
          const expectedFields: Record<string, unknown> = {
            readings: summary.readings,
            active_percent: summary.active_percent,
            mean_mg_dl: summary.mean_mg_dl,
            gmi_percent: summary.gmi_percent,
            cv_percent: summary.cv_percent,
            sd_mg_dl: summary.sd_mg_dl,
            "time_in_range.tight_target_percent": summary.time_in_range.tight_target_percent,
            "hypoglycemia_events.level_1": summary.hypoglycemia_events.level_1,
            "hypoglycemia_events.level_2": summary.hypoglycemia_events.level_2
          }
          for (const [field, value] of Object.entries(expectedFields)) {
            assert.strictEqual(shown.fields[field]?.value, value, field)
            assert.strictEqual(number(shown.fields[field].text), value, `${field} as shown`)
          }
          for (const [name, value] of Object.entries(summary.time_in_range)) {
            if (name === "tight_target_percent") continue
            assert.strictEqual(number(shown.ranges[`time_in_range.${name}`]), value, name)
          }
          assert.deepStrictEqual(shown.agp, summary.agp)
          assert.strictEqual(shown.tz, "Europe/Berlin")
          assert.isAtLeast(shown.medianLines, 1)
          assert.isAtLeast(shown.bands, 2)
          // The stacked bar's segments are drawn in proportion to the percentages.
          const barHeight = shown.bar.reduce((sum: number, [, height]: [string, number]) => sum + height, 0)
          const target = shown.bar.find(([name]: [string, number]) => name === "target")[1]
          assert.approximately((100 * target) / barHeight, summary.time_in_range.target_percent, 0.2)
          // One curve per local day: 14 Berlin days, 30 March with 23 hours.
          assert.strictEqual(shown.days.length, 14)
          assert.deepStrictEqual(shown.days[6].slice(0, 1), ["2025-03-30"])
          assert.include(shown.days[6][2], "(23 h)")
          assert.strictEqual(
            shown.days.reduce((sum: number, day: [string, number]) => sum + day[1], 0),
            summary.readings
          )

          const { data } = yield* run(() =>
            browser.send(
              "Page.captureScreenshot",
              {
                format: "png",
                captureBeyondViewport: true,
                clip: { x: 0, y: 0, width: 1200, height: shown.height, scale: 1 }
              },
              page.sessionId
            )
          )
          mkdirSync(".tmp", { recursive: true })
          for (const path of SCREENSHOTS) writeFileSync(path, Buffer.from(data, "base64"))

          // A4 paper: the print styles fit the page's width (190 mm at 96 dpi is 718 px) and the PDF has pages.
          const narrow = yield* run(() => openPage(browser, url, 718))
          yield* run(() => browser.send("Emulation.setEmulatedMedia", { media: "print" }, narrow.sessionId))
          const printed = yield* run(() => evaluate(browser, narrow, EXTRACT))
          assert.isAtMost(printed.width, 718)
          const pdf = yield* run(() =>
            browser.send("Page.printToPDF", { preferCSSPageSize: true, printBackground: true }, narrow.sessionId)
          )
          const pages =
            Buffer.from(pdf.data, "base64")
              .toString("latin1")
              .match(/\/Type\s*\/Page[^s]/g) ?? []
          assert.isAtLeast(pages.length, 1)
          assert.isAtMost(pages.length, 3)

          // Without the CSP, the markup itself still asks for nothing.
          const bare = yield* run(() => openPage(browser, url, 1200, true))
          assert.deepStrictEqual(bare.requests, [url])
        })
      ).pipe(Effect.scoped),
    120_000
  )
})
