#!/usr/bin/env node
// Plain JavaScript, so that an old Node gets a clear message instead of a syntax error.
const [major] = process.versions.node.split(".").map(Number)
if (major < 24) {
  console.error(
    `bg-ingest needs Node.js 24 or newer, and this is Node.js ${process.versions.node}.\n` +
      "Run it with `npm start` after `npm ci` (npm installs Node 24 into node_modules/.bin), " +
      'or put it first on your PATH: export PATH="$PWD/node_modules/.bin:$PATH".'
  )
  process.exit(1)
}
// V8's compiled code kept between starts (about 600 modules, effect's most of them): a restart compiles nothing it
// compiled before, which takes start-up from ~2.2 s to ~1.4 s of CPU and ~25 MiB off the idle RSS (measured on a
// busy 2-core machine). Kept beside the installed modules, which belong to whoever installed them (not in a
// shared /tmp); where that is read-only Node carries on without it. NODE_COMPILE_CACHE, when set, is Node's own.
if (process.env.NODE_COMPILE_CACHE === undefined && process.env.NODE_DISABLE_COMPILE_CACHE === undefined) {
  const { enableCompileCache } = await import("node:module")
  enableCompileCache(new URL("../../../node_modules/.cache/bg-ingest-compile", import.meta.url).pathname)
}
await import("../src/main.ts")
