/**
 * Profiles the service under the load of one HTTP benchmark endpoint and prints where its CPU time went: the
 * tool for finding the hot path when a target is missed (from the first request on: start-up is left out). Keeps the .cpuprofile (open it in Chrome DevTools).
 * The configuration is one of bench/http.ts's: `lean` (the default), `start` (`npm start` as is: demo users, the
 * scheduler, pretty logs) or `production` (API keys, JSON logs).
 *
 *   node --conditions=@bg-ingest/source bench/profile.ts latest|24h|90d [seconds] [lean|start|production]
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { summarizeProfile } from "./support/cpuProfile.ts"
import { BENCH_USER, currentAnchorSeconds, prefillDatabase, windowQuery } from "./support/dataset.ts"
import { load } from "./support/load.ts"
import { BENCH_API_KEY_HEADER, startDevelopment, startProduction, startService } from "./support/service.ts"

const [which = "24h", secondsText = "10", configuration = "lean"] = process.argv.slice(2)
const dataDir = mkdtempSync(join(tmpdir(), "bg-ingest-bench-profile-"))
const anchor = currentAnchorSeconds()
prefillDatabase(join(dataDir, "bg-ingest.db"), anchor, 0)
const paths: Record<string, { path: string; connections: number }> = {
  latest: { path: `/api/bg/${BENCH_USER}/latest`, connections: 50 },
  "24h": { path: `/api/bg/${BENCH_USER}?${windowQuery(anchor, 24)}`, connections: 50 },
  "90d": { path: `/api/bg/${BENCH_USER}?${windowQuery(anchor, 90 * 24)}`, connections: 1 }
}
const endpoint = paths[which]
if (endpoint === undefined) throw new Error(`unknown endpoint ${which}; one of ${Object.keys(paths).join(", ")}`)
const profileDir = mkdtempSync(join(tmpdir(), "bg-ingest-profile-"))
const nodeArgs = ["--cpu-prof", `--cpu-prof-dir=${profileDir}`]
const logLevel = process.env.LOG_LEVEL
const starts: Record<string, () => ReturnType<typeof startService>> = {
  lean: () => startService(dataDir, logLevel === undefined ? {} : { LOG_LEVEL: logLevel }, nodeArgs),
  start: () => startDevelopment(dataDir, nodeArgs),
  production: () => startProduction(dataDir, nodeArgs)
}
const start = starts[configuration]
if (start === undefined) throw new Error(`unknown configuration ${configuration}; one of ${Object.keys(starts)}`)
const service = await start()
const result = await load({
  url: `${service.url}${endpoint.path}`,
  connections: endpoint.connections,
  seconds: Number(secondsText),
  headers: configuration === "production" ? [BENCH_API_KEY_HEADER] : []
})
await service.process.stop()
rmSync(dataDir, { recursive: true, force: true })
const [file] = readdirSync(profileDir)
process.stdout.write(
  `${which} (${configuration}): ${result.requestsPerSecond.toFixed(0)} req/s, p99 ${result.p99Ms} ms, ${result.errors} errors\n`
)
process.stdout.write(
  `${summarizeProfile(join(profileDir, file!), 40, "parserOnIncoming")}\n\nprofile: ${join(profileDir, file!)}\n`
)
