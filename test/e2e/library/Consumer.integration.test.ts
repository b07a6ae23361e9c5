import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { promisify } from "node:util"
import { makeReading, ProviderId, readingEventId, UserId } from "@bg-ingest/domain"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import { type ServiceProcess, startService } from "../../support/processes.ts"
import { publishablePackages, REPOSITORY, readManifest } from "./manifests.ts"

/**
 * bg-ingest as another service sees it: the three packages built, packed and installed from their tarballs into a
 * project outside the workspace, used from plain JavaScript on Node without type stripping (so nothing can fall
 * back to the TypeScript sources), and type-checked from TypeScript against the installed declarations.
 */

const run = promisify(execFile)
const NODE = process.execPath
const TSC = join(REPOSITORY, "node_modules/.bin/tsc")
const API_KEY = "library-test-key-0123456789abcdef"

/** The environment of npm and node here: Node 24 first on PATH, nothing of the package running this test. */
const environment = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(npm_package_|npm_lifecycle_|NODE_OPTIONS$)/.test(name))
  ),
  PATH: `${dirname(NODE)}:${process.env.PATH ?? ""}`,
  ...extra
})

/** Rejects with what the command printed, so that a failed build or install says why. */
const explained = (error: { message: string; stdout?: string; stderr?: string }): never => {
  throw new Error(`${error.message}\n${error.stdout ?? ""}\n${error.stderr ?? ""}`)
}

const npm = (args: ReadonlyArray<string>, cwd: string) =>
  run("npm", [...args], { cwd, env: environment(), maxBuffer: 64 * 1024 * 1024 }).then(
    (result) => result.stdout,
    explained
  )

/** Runs a module of the consumer project as plain JavaScript; answers its standard output. */
const node = (project: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  run(NODE, ["--no-experimental-strip-types", ...args], { cwd: project, env: environment(env) }).then(
    (result) => result.stdout,
    explained
  )

/** The code blocks of docs/library.md that name a file (```js title="ingest.mjs"), by file name. */
const documentedFiles = (): Map<string, string> => {
  const text = readFileSync(join(REPOSITORY, "docs/library.md"), "utf8")
  return new Map([...text.matchAll(/```\w+ title="([^"]+)"\n([\s\S]*?)```/g)].map((match) => [match[1]!, match[2]!]))
}

interface Packed {
  readonly name: string
  readonly filename: string
  readonly size: number
  readonly files: ReadonlyArray<{ readonly path: string }>
}

let workDirectory: string
let project: string
let packed: ReadonlyArray<Packed>
const snippets = documentedFiles()

beforeAll(async () => {
  workDirectory = mkdtempSync(join(tmpdir(), "bg-ingest-library-"))
  const packs = join(workDirectory, "packs")
  project = join(workDirectory, "consumer")
  mkdirSync(packs)
  mkdirSync(project)

  await npm(["run", "build"], REPOSITORY)
  const workspaces = publishablePackages().flatMap((pkg) => ["--workspace", pkg.manifest.name])
  // The build just ran; prepack would only run it again.
  packed = JSON.parse(
    await npm(["pack", "--json", "--ignore-scripts", "--pack-destination", packs, ...workspaces], REPOSITORY)
  )

  const effectVersion = readManifest(join(REPOSITORY, "node_modules/effect")).version
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({ name: "bg-ingest-consumer", private: true, type: "module" }, null, 2)
  )
  await npm(
    [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--save-exact",
      ...packed.map((pack) => join(packs, pack.filename)),
      `effect@${effectVersion}`
    ],
    project
  )
  for (const [file, code] of snippets) writeFileSync(join(project, file), code)
}, 120_000)

afterAll(() => {
  if (workDirectory !== undefined) rmSync(workDirectory, { recursive: true, force: true })
})

describe("bg-ingest as a library, installed from its tarballs", () => {
  it("packs each package with its compiled entry points, its sources and its README, and nothing else", () => {
    assert.deepStrictEqual(packed.map((pack) => pack.name).sort(), [
      "@bg-ingest/adapters",
      "@bg-ingest/domain",
      "@bg-ingest/http"
    ])
    for (const pack of packed) {
      const files = new Set(pack.files.map((file) => file.path))
      for (const file of files) {
        assert.match(file, /^(dist\/.+\.(js|d\.ts)(\.map)?|src\/.+\.ts|package\.json|README\.md)$/, pack.name)
      }
      const manifest = readManifest(publishablePackages().find((pkg) => pkg.manifest.name === pack.name)!.directory)
      for (const target of Object.values<any>(manifest.exports)) {
        if (typeof target !== "object" || target.default === undefined) continue
        assert.isTrue(files.has(target.types.slice(2)), `${pack.name} packs ${target.types}`)
        assert.isTrue(files.has(target.default.slice(2)), `${pack.name} packs ${target.default}`)
      }
    }
  })

  it("loads every exported subpath on plain Node, and refuses the internal ones", async () => {
    writeFileSync(
      join(project, "load-exports.mjs"),
      `import { readFileSync } from "node:fs"
const outcome = async (specifier) => {
  try {
    return { specifier, exports: Object.keys(await import(specifier)).length }
  } catch (error) {
    return { specifier, code: error.code, message: error.message }
  }
}
const results = []
for (const name of ["@bg-ingest/domain", "@bg-ingest/adapters", "@bg-ingest/http"]) {
  const manifest = JSON.parse(readFileSync(new URL(\`./node_modules/\${name}/package.json\`, import.meta.url), "utf8"))
  for (const subpath of Object.keys(manifest.exports)) {
    if (subpath !== "./package.json") results.push({ ...(await outcome(name + subpath.slice(1))), manifest })
  }
}
for (const specifier of ["@bg-ingest/domain/dist/usecases/Ingest.js", "@bg-ingest/http/src/index.ts", "@bg-ingest/http/api/Api"]) {
  results.push(await outcome(specifier))
}
console.log(JSON.stringify(results))
`
    )
    const results: Array<any> = JSON.parse(await node(project, ["load-exports.mjs"]))
    const bySpecifier = new Map(results.map((result) => [result.specifier, result]))
    for (const specifier of [
      "@bg-ingest/domain",
      "@bg-ingest/adapters/memory",
      "@bg-ingest/adapters/simulator",
      "@bg-ingest/adapters/sqlite",
      "@bg-ingest/http",
      "@bg-ingest/http/client",
      "@bg-ingest/http/server"
    ]) {
      assert.isAbove(
        bySpecifier.get(specifier)?.exports ?? 0,
        0,
        `${specifier}: ${bySpecifier.get(specifier)?.message}`
      )
    }
    for (const result of results) {
      if (result.exports !== undefined) continue
      // An entry point may need a technology's SDK that the consumer did not install: it must be an optional peer.
      const missing = /Cannot find package '([^']+)'/.exec(result.message ?? "")?.[1]
      if (result.code === "ERR_MODULE_NOT_FOUND" && missing !== undefined) {
        assert.isTrue(
          result.manifest?.peerDependenciesMeta?.[missing]?.optional,
          `${result.specifier} needs ${missing}`
        )
      } else {
        // The adapters' root (every technology at once) is for the workspace only, as are the internal paths.
        assert.strictEqual(result.code, "ERR_PACKAGE_PATH_NOT_EXPORTED", `${result.specifier}: ${result.message}`)
      }
    }
    assert.strictEqual(bySpecifier.get("@bg-ingest/adapters")?.code, "ERR_PACKAGE_PATH_NOT_EXPORTED")
    assert.strictEqual(
      bySpecifier.get("@bg-ingest/domain/dist/usecases/Ingest.js")?.code,
      "ERR_PACKAGE_PATH_NOT_EXPORTED"
    )
  })

  it("runs Ingest on the in-memory adapters (docs/library.md, ingest.mjs)", async () => {
    assert.isTrue(snippets.has("ingest.mjs"))
    const userId = UserId.make("alice")
    const reading = (time: string, glucoseMgDl: number) =>
      makeReading({
        userId,
        timestamp: DateTime.makeUnsafe(time),
        glucoseMgDl,
        trend: "flat",
        source: { provider: ProviderId.make("my-meter"), recordId: null }
      })
    const published = [
      ["bg.reading.created", reading("2026-01-05T08:00:00Z", 104)],
      ["bg.reading.created", reading("2026-01-05T08:05:00Z", 109)],
      ["bg.reading.created", reading("2026-01-05T08:10:00Z", 115)],
      ["bg.reading.updated", reading("2026-01-05T08:10:00Z", 117)]
    ] as const
    assert.strictEqual(
      await node(project, ["ingest.mjs"]),
      [
        "{ received: 3, inserted: 3, updated: 0, unchanged: 0 }",
        "{ received: 3, inserted: 0, updated: 0, unchanged: 3 }",
        "{ received: 1, inserted: 0, updated: 1, unchanged: 0 }",
        ...published.map(
          ([type, event]) =>
            `${type} ${DateTime.formatIso(event.timestamp)} ${event.glucoseMgDl} ${readingEventId(event)}`
        ),
        ""
      ].join("\n")
    )
  })

  it("loads the client, the contract and the domain without the server, node:sqlite, the AWS SDK or amqplib", async () => {
    // A resolve hook that refuses the server's and the adapters' modules and records everything else.
    writeFileSync(
      join(project, "guard-imports.mjs"),
      `import { writeSync } from "node:fs"
import { registerHooks } from "node:module"
const forbidden = [/^node:sqlite$/, /^@aws-sdk\\//, /^amqplib/, /^@bg-ingest\\/adapters/, /^@effect\\/platform-node/,
  /^(node:)?(http|https|net)$/]
const loaded = []
registerHooks({
  resolve(specifier, context, nextResolve) {
    // What the packages import, not what this check itself imports.
    const byAPackage = context.parentURL?.includes("/node_modules/") ?? false
    if (byAPackage && forbidden.some((pattern) => pattern.test(specifier))) {
      throw new Error(\`\${specifier}, imported by \${context.parentURL}, is not for this entry point\`)
    }
    const resolved = nextResolve(specifier, context)
    if (resolved.url.includes("/dist/server/") || resolved.url.endsWith(".ts")) {
      throw new Error(\`\${resolved.url}, imported by \${context.parentURL}, is not for this entry point\`)
    }
    loaded.push(resolved.url)
    return resolved
  }
})
// Synchronously: at exit, an asynchronous write to a pipe would be cut short.
process.on("exit", () => writeSync(1, JSON.stringify(loaded)))
`
    )
    const entryPoints = {
      "@bg-ingest/http/client": "http/dist/client/BgIngestClient.js",
      "@bg-ingest/http": "http/dist/api/Api.js",
      "@bg-ingest/domain": "domain/dist/usecases/Ingest.js",
      "@bg-ingest/adapters/memory": "adapters/dist/memory/InMemoryReadingStore.js"
    }
    for (const [entryPoint, expected] of Object.entries(entryPoints)) {
      const loaded: Array<string> = JSON.parse(
        await node(project, ["--import", "./guard-imports.mjs", "--input-type=module", "-e", `import "${entryPoint}"`])
      )
      assert.isTrue(
        loaded.some((url) => url.endsWith(`/node_modules/@bg-ingest/${expected}`)),
        `${entryPoint} loaded ${expected}`
      )
    }
  })

  describe("against a running bg-ingest", () => {
    let service: ServiceProcess
    beforeAll(async () => {
      service = await startService({
        DATA_DIR: join(workDirectory, "data"),
        API_KEYS: API_KEY,
        DEMO_USERS: "demo-1",
        POLL_INTERVAL_SECONDS: "3600"
      })
    }, 30_000)
    afterAll(async () => {
      if (service !== undefined) assert.strictEqual(await service.stop(), 0)
    })

    const api = async (path: string) => {
      const response = await fetch(`${service.baseUrl}${path}`, { headers: { authorization: `Bearer ${API_KEY}` } })
      assert.strictEqual(response.status, 200, path)
      return (await response.json()) as any
    }

    it("reads the latest reading and a range, and catches NoReadings by tag (docs/library.md, client.mjs)", async () => {
      const output = await node(project, ["client.mjs"], { BG_INGEST_URL: service.baseUrl, BG_INGEST_API_KEY: API_KEY })
      const latest = await api("/api/bg/demo-1/latest")
      const to = new Date(Date.parse(latest.timestamp) + 1000)
      const from = new Date(to.getTime() - 3_600_000)
      const lastHour: Array<any> = await api(`/api/bg/demo-1?from=${from.toISOString()}&to=${to.toISOString()}`)
      // The simulator writes a reading every 5 minutes, less the occasional sensor gap.
      assert.isAtLeast(lastHour.length, 10)
      assert.strictEqual(lastHour.at(-1).timestamp, latest.timestamp)
      assert.strictEqual(
        output,
        [
          `latest: ${latest.timestamp} ${latest.glucose_mg_dl} ${latest.trend}`,
          `last hour: ${lastHour.map((reading) => reading.glucose_mg_dl).join(" ")}`,
          "nobody: none yet (404 No readings)",
          ""
        ].join("\n")
      )
    })

    it("fails with Unauthorized for a wrong key or none", async () => {
      const wrongKey = await node(project, ["client.mjs"], {
        BG_INGEST_URL: service.baseUrl,
        BG_INGEST_API_KEY: "not-the-key-0123456789abcdef"
      })
      assert.strictEqual(wrongKey, "refused: 401 The API key is not valid\n")
      const noKey = await node(project, ["client.mjs"], { BG_INGEST_URL: service.baseUrl })
      assert.strictEqual(noKey, "refused: 401 An API key is required: Authorization: Bearer <key>\n")
    })
  })

  it("type-checks a TypeScript consumer against the installed declarations", async () => {
    assert.isTrue(snippets.has("consumer.ts"))
    writeFileSync(
      join(project, "checks.ts"),
      `import { Ingest, type Reading, UserId } from "@bg-ingest/domain"
import { InMemoryEventLog, InMemoryReadingStore } from "@bg-ingest/adapters/memory"
import { BgIngestApi, type ReadingJson } from "@bg-ingest/http"
import { BgIngestClient } from "@bg-ingest/http/client"
import { Effect, Layer } from "effect"
import { latestGlucose } from "./consumer.js"

type IsAny<T> = 0 extends 1 & T ? true : false
type Failure = Effect.Error<ReturnType<typeof latestGlucose>>

export const checks = {
  resultNotAny: false satisfies IsAny<Effect.Success<ReturnType<typeof latestGlucose>>>,
  result: null satisfies Effect.Success<ReturnType<typeof latestGlucose>>,
  unauthorizedIsTyped: true satisfies "Unauthorized" extends Failure["_tag"] ? true : false,
  noReadingsIsHandled: false satisfies "NoReadings" extends Failure["_tag"] ? true : false,
  needsTheClient: true satisfies BgIngestClient extends Effect.Services<ReturnType<typeof latestGlucose>> ? true : false,
  ingestNotAny: false satisfies IsAny<typeof Ingest.layer>,
  readingNotAny: false satisfies IsAny<Reading>,
  jsonNotAny: false satisfies IsAny<ReadingJson>,
  api: BgIngestApi.identifier,
  layer: Layer.mergeAll(InMemoryReadingStore.layer, BgIngestClient.layer({ baseUrl: "http://127.0.0.1:5001" })),
  log: InMemoryEventLog.key
}

// @ts-expect-error a user id is a branded string, not any string
latestGlucose("demo-1")
// @ts-expect-error the API has no such endpoint
BgIngestClient.use((client) => client.readings.oldest({ params: { userId: UserId.make("demo-1") } }))
`
    )
    writeFileSync(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "es2024",
          lib: ["es2024", "dom"],
          module: "nodenext",
          moduleResolution: "nodenext",
          strict: true,
          exactOptionalPropertyTypes: true,
          noEmit: true,
          skipLibCheck: false,
          types: []
        },
        files: ["consumer.ts", "checks.ts"]
      })
    )
    const result = await run(TSC, ["-p", "tsconfig.json"], { cwd: project, env: environment() }).then(
      () => "",
      (error: { stdout: string }) => error.stdout
    )
    assert.strictEqual(result, "")
  })
})
