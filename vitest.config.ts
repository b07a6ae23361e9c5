import { defineConfig } from "vitest/config"

const sourceCondition = "@bg-ingest/source"

export default defineConfig({
  resolve: { conditions: [sourceCondition, "module", "node", "default"] },
  ssr: { resolve: { conditions: [sourceCondition, "node", "default"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // The JSON report is what CI counts (.ci/run reads it).
    reporters: ["default", "json"],
    outputFile: { json: ".tmp/vitest-results.json" }
  }
})
