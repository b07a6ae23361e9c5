import { defineConfig } from "vitest/config"
import { REQUIREMENTS, type Requirement, tagOf } from "./test/support/requirements.ts"

const sourceCondition = "@bg-ingest/source"

export default defineConfig({
  resolve: { conditions: [sourceCondition, "module", "node", "default"] },
  ssr: { resolve: { conditions: [sourceCondition, "node", "default"] } },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // What passing tests print (the service's logs among it) is shown only when a test fails.
    silent: "passed-only",
    // The skip registry: a test that needs a tool the machine may lack is tagged with it (test/support/needs.ts).
    tags: (Object.keys(REQUIREMENTS) as Array<Requirement>).map((requirement) => ({
      name: tagOf(requirement),
      description: `needs ${REQUIREMENTS[requirement].description}`
    })),
    strictTags: true,
    // The JSON report is what CI counts (.ci/run reads it).
    reporters: ["default", "json"],
    outputFile: { json: ".tmp/vitest-results.json" }
  }
})
