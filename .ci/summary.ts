// Reads vitest's JSON report and prints, as its last line, `N passed, N failed, N skipped`. Exits 1 when a test
// failed, when the report is missing, or when a test was skipped for a reason CI does not accept: only the
// `optional` requirements of the skip registry (test/support/requirements.ts) may be missing.
import { existsSync, readFileSync } from "node:fs"
import { REQUIREMENTS, type Requirement, tagOf } from "../test/support/requirements.ts"

interface AssertionResult {
  readonly status: string
  readonly fullName: string
  readonly tags?: ReadonlyArray<string>
}
interface Report {
  readonly numPassedTests: number
  readonly numFailedTests: number
  readonly numPendingTests: number
  readonly numTodoTests: number
  readonly numFailedTestSuites: number
  readonly testResults: ReadonlyArray<{
    readonly name: string
    readonly assertionResults: ReadonlyArray<AssertionResult>
  }>
}

const say = (line: string) => process.stdout.write(`${line}\n`)

const file = process.argv[2] ?? ".tmp/vitest-results.json"
if (!existsSync(file)) {
  say(`no test report at ${file}: the test run did not finish`)
  say("0 passed, 1 failed, 0 skipped")
  process.exit(1)
}
const report: Report = JSON.parse(readFileSync(file, "utf8"))

const byTag = new Map<string, Requirement>(
  (Object.keys(REQUIREMENTS) as Array<Requirement>).map((requirement) => [tagOf(requirement), requirement])
)
const skipped = report.testResults.flatMap((result) =>
  result.assertionResults.filter((test) => test.status !== "passed" && test.status !== "failed")
)
const counts = new Map<string, number>()
const unexpected: Array<string> = []
for (const test of skipped) {
  const requirement = (test.tags ?? []).map((tag) => byTag.get(tag)).find((found) => found !== undefined)
  const key = requirement === undefined ? "no reason given" : tagOf(requirement)
  counts.set(key, (counts.get(key) ?? 0) + 1)
  if (requirement === undefined || REQUIREMENTS[requirement].ci !== "optional") unexpected.push(test.fullName)
}
for (const [key, count] of counts) {
  const requirement = byTag.get(key)
  const why =
    requirement === undefined ? "skipped without a tag of the skip registry" : REQUIREMENTS[requirement].description
  say(`skipped ${count}: ${key} (${why})`)
}
if (unexpected.length > 0) {
  say(`${unexpected.length} skipped tests that CI does not accept:`)
  for (const name of unexpected.slice(0, 20)) say(`  - ${name}`)
  if (unexpected.length > 20) say(`  … and ${unexpected.length - 20} more`)
}
// A file that failed outside any test (an import error, a failing hook) counts as one failure.
const failedFiles = report.numFailedTestSuites > 0 && report.numFailedTests === 0 ? 1 : 0
const failed = report.numFailedTests + failedFiles
say(`${report.numPassedTests} passed, ${failed} failed, ${skipped.length} skipped`)
process.exit(failed > 0 || unexpected.length > 0 ? 1 : 0)
