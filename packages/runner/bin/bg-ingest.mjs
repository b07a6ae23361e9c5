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
await import("../src/main.ts")
