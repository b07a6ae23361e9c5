import { describe, it } from "@effect/vitest"
import { REQUIREMENTS, type Requirement, tagOf } from "./requirements.ts"

export type { Requirement } from "./requirements.ts"

/** Whether a requirement is met here; when it is not, why. */
export type Availability = { readonly available: true } | { readonly available: false; readonly problem: string }

export const available: Availability = { available: true }
export const unavailable = (problem: string): Availability => ({ available: false, problem })

/** The problem, short enough for a test's title (the first line, at most 120 characters). */
const brief = (problem: string) => {
  const line = problem.split("\n")[0]!.trim()
  return line.length > 120 ? `${line.slice(0, 119)}…` : line
}

const failsInCi = (requirement: Requirement) => process.env.CI === "true" && REQUIREMENTS[requirement].ci === "required"

const missingInCi = (requirement: Requirement, problem: string) => () => {
  throw new Error(`${problem}. Under CI=true this must run: ${REQUIREMENTS[requirement].description} is required.`)
}

/**
 * A `describe` block that needs `requirement`: run when it is available, else skipped (counted, tagged), or under
 * `CI=true` for a required tool one failing test.
 */
export const describeNeeding = (
  requirement: Requirement,
  availability: Availability,
  title: string,
  body: () => void,
  options: { readonly concurrent?: boolean } = {}
): void => {
  const tags = [tagOf(requirement)]
  if (availability.available) {
    describe(title, { tags, ...options }, body)
  } else if (failsInCi(requirement)) {
    describe(title, { tags }, () => it(`needs ${requirement}`, missingInCi(requirement, availability.problem)))
  } else {
    // The body is still collected, so that every test it holds is counted as skipped.
    describe(`${title} (skipped: ${brief(availability.problem)})`, { tags, skip: true }, body)
  }
}

/** One test that needs `requirement`, with the same rules as `describeNeeding`. */
export const itNeeding = (
  requirement: Requirement,
  availability: Availability,
  title: string,
  body: () => void | Promise<void>,
  timeout?: number
): void => {
  const tags = [tagOf(requirement)]
  if (availability.available) it(title, { tags, ...(timeout === undefined ? {} : { timeout }) }, body)
  else if (failsInCi(requirement)) it(title, { tags }, missingInCi(requirement, availability.problem))
  else it(`${title} (skipped: ${brief(availability.problem)})`, { tags, skip: true }, body)
}

/**
 * Test options for one test that needs `requirement`, for the test APIs that take options (`it.effect` in a
 * `layer`): tagged; skipped when the tool is missing, except under `CI=true` for a required tool, where the test
 * runs and fails for want of it.
 */
export const needing = (requirement: Requirement, availability: Availability) => ({
  tags: [tagOf(requirement)],
  skip: !availability.available && !failsInCi(requirement)
})
