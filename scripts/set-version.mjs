#!/usr/bin/env node
// Sets one version on every package of the workspace, the pins between them and the API's OpenAPI version, then
// refreshes the lockfile. `npm version --workspaces` bumps the packages but leaves their pins on each other behind.
// Usage: npm run set-version -- 0.2.0
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"

const version = process.argv[2]
if (version === undefined || !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
  console.error("Usage: npm run set-version -- <major.minor.patch>")
  process.exit(1)
}

const root = join(import.meta.dirname, "..")
const readJson = (path) => JSON.parse(readFileSync(path, "utf8"))
const writeJson = (path, value) => writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`)

const rootManifest = readJson(join(root, "package.json"))
const manifests = [join(root, "package.json"), ...rootManifest.workspaces.map((ws) => join(root, ws, "package.json"))]
for (const path of manifests) {
  const manifest = readJson(path)
  manifest.version = version
  for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
    for (const name of Object.keys(manifest[field] ?? {})) {
      if (name.startsWith("@bg-ingest/")) manifest[field][name] = version
    }
  }
  writeJson(path, manifest)
}

const api = join(root, "packages/http/src/api/Api.ts")
const source = readFileSync(api, "utf8")
const updated = source.replace(/(OpenApi\.annotations\(\{\s*title: "bg-ingest",\s*version: )"[^"]*"/, `$1"${version}"`)
if (updated === source && !source.includes(`version: "${version}"`)) {
  console.error(`Could not find the OpenAPI version in ${api}; set it to ${version} by hand.`)
  process.exit(1)
}
writeFileSync(api, updated)

execFileSync("npm", ["install", "--package-lock-only", "--prefer-offline", "--no-audit", "--no-fund"], {
  cwd: root,
  stdio: "inherit"
})
console.warn(`Every package is at ${version}.`)
