import { existsSync, readdirSync, readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { join } from "node:path"
import { BgIngestApi } from "@bg-ingest/http"
import { assert, describe, it } from "@effect/vitest"
import { OpenApi } from "effect/http-api"
import { publishablePackages, REPOSITORY, readManifest, SOURCE_CONDITION, workspacePackages } from "./manifests.ts"

const root = readManifest(REPOSITORY)
const workspaces = workspacePackages()
const publishable = publishablePackages()

const sourceFiles = (directory: string): Array<string> =>
  readdirSync(directory, { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => join(directory, file))

/** The packages a module imports by name (not relative paths, not Node built-ins). */
const importedPackages = (file: string): Array<string> => {
  const text = readFileSync(file, "utf8")
  const specifiers = [
    ...text.matchAll(/^(?:import|export)\s[^"]*?\bfrom\s+"([^"]+)"/gm),
    ...text.matchAll(/^import\s+"([^"]+)"/gm),
    ...text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)
  ].map((match) => match[1]!)
  return specifiers
    .filter((specifier) => !specifier.startsWith(".") && !specifier.startsWith("node:"))
    .filter((specifier) => !builtinModules.includes(specifier))
    .map((specifier) =>
      specifier
        .split("/")
        .slice(0, specifier.startsWith("@") ? 2 : 1)
        .join("/")
    )
}

describe("the published packages", () => {
  it("are @bg-ingest/domain, adapters and http; the runner stays private", () => {
    assert.deepStrictEqual(publishable.map((pkg) => pkg.manifest.name).sort(), [
      "@bg-ingest/adapters",
      "@bg-ingest/domain",
      "@bg-ingest/http"
    ])
    assert.isTrue(workspaces.find((pkg) => pkg.manifest.name === "@bg-ingest/runner")?.manifest.private)
  })

  it("share one version: the root's, pinned exactly between them and in the OpenAPI document", () => {
    const version: string = root.version
    const fix = "`npm run set-version -- <version>` sets them all"
    for (const { manifest } of workspaces) {
      assert.strictEqual(
        manifest.version,
        version,
        `${manifest.name} is at ${manifest.version}, not ${version}; ${fix}`
      )
      for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
        for (const [name, range] of Object.entries<string>(manifest[field] ?? {})) {
          if (name.startsWith("@bg-ingest/")) {
            assert.strictEqual(
              range,
              version,
              `${manifest.name} ${field} pins ${name}@${range}, not ${version}; ${fix}`
            )
          }
        }
      }
    }
    assert.strictEqual(OpenApi.fromApi(BgIngestApi).info.version, version, `BgIngestApi's OpenAPI version; ${fix}`)
  })

  for (const { directory, manifest } of publishable) {
    describe(manifest.name, () => {
      it("is an ES module for Node 24 without side effects, shipping only what a consumer needs", () => {
        assert.strictEqual(manifest.type, "module")
        assert.strictEqual(manifest.engines?.node, ">=24")
        assert.strictEqual(manifest.sideEffects, false)
        assert.isString(manifest.license)
        assert.strictEqual(manifest.publishConfig?.access, "public")
        // dist is what runs; src is what the declaration and source maps point at.
        assert.deepStrictEqual(manifest.files, ["dist", "src"])
        assert.isTrue(existsSync(join(directory, "README.md")), "a README for the registry page")
        assert.isTrue(existsSync(join(directory, "tsconfig.build.json")))
        // The whole build: a package compiles against the declarations of the ones it depends on.
        assert.strictEqual(manifest.scripts?.prepack, "npm run build --prefix ../..", "never packed from a stale dist")
      })

      it("has effect as a peer, never its own copy", () => {
        assert.isString(manifest.peerDependencies?.effect)
        assert.isUndefined(manifest.dependencies?.effect)
      })

      it("declares every package its sources import", () => {
        const declared = new Set([
          manifest.name,
          ...Object.keys(manifest.dependencies ?? {}),
          ...Object.keys(manifest.peerDependencies ?? {})
        ])
        const imported = new Set(sourceFiles(join(directory, "src")).flatMap(importedPackages))
        assert.isTrue(imported.has("effect"))
        for (const name of imported) {
          assert.isTrue(declared.has(name), `${manifest.name} imports ${name} but does not declare it`)
        }
      })

      it("exports each public entry point: the workspace's sources first, then declarations and JavaScript", () => {
        for (const [subpath, target] of Object.entries<any>(manifest.exports)) {
          if (subpath === "./package.json") continue
          const source: string = target[SOURCE_CONDITION]
          assert.isTrue(existsSync(join(directory, source)), `${manifest.name} ${subpath} → ${source} is missing`)
          if (Object.keys(target).length === 1) continue // a workspace-only entry, not published
          assert.deepStrictEqual(Object.keys(target), [SOURCE_CONDITION, "types", "default"], `${subpath} conditions`)
          const compiled = source.replace("./src/", "./dist/")
          assert.strictEqual(target.types, compiled.replace(/\.ts$/, ".d.ts"), `${subpath} types`)
          assert.strictEqual(target.default, compiled.replace(/\.ts$/, ".js"), `${subpath} default`)
        }
      })
    })
  }

  it("@bg-ingest/adapters exports one subpath per technology folder, each SDK an optional peer", () => {
    const adapters = publishable.find((pkg) => pkg.manifest.name === "@bg-ingest/adapters")!
    const folders = readdirSync(join(adapters.directory, "src"), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
    assert.isAtLeast(folders.length, 3)
    for (const folder of folders) {
      const entry = adapters.manifest.exports[`./${folder}`]
      assert.isDefined(entry, `packages/adapters/src/${folder} has no "./${folder}" export`)
      assert.strictEqual(entry.default, `./dist/${folder}/index.js`)
    }
    // Installing the adapters for one technology must not install every other technology's SDK.
    const { peerDependencies = {}, peerDependenciesMeta = {}, dependencies = {} } = adapters.manifest
    for (const name of Object.keys(dependencies)) {
      assert.isTrue(name.startsWith("@bg-ingest/"), `${name} must be an optional peer, not a dependency`)
    }
    for (const name of Object.keys(peerDependencies)) {
      if (name === "effect") continue
      assert.isTrue(peerDependenciesMeta[name]?.optional, `the peer ${name} must be optional`)
    }
  })

  it("the adapters' SDKs are installed for the service by the runner", () => {
    const adapters = publishable.find((pkg) => pkg.manifest.name === "@bg-ingest/adapters")!
    const runner = workspaces.find((pkg) => pkg.manifest.name === "@bg-ingest/runner")!
    for (const name of Object.keys(adapters.manifest.peerDependenciesMeta ?? {})) {
      assert.isString(runner.manifest.dependencies?.[name], `@bg-ingest/runner must depend on ${name}`)
    }
  })
})
