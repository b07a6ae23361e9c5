import { readFileSync } from "node:fs"
import { assert, describe, it } from "@effect/vitest"

const compose = readFileSync(new URL("../../compose.yaml", import.meta.url), "utf8")

describe("compose.yaml", () => {
  it("publishes every port on loopback only (RabbitMQ's guest/guest and its management UI included)", () => {
    const published: Array<string> = []
    let inPorts = false
    for (const line of compose.split("\n")) {
      if (/^\s+ports:\s*$/.test(line)) {
        inPorts = true
        continue
      }
      const item = /^\s+-\s+"?([^"]+)"?\s*$/.exec(line)
      if (inPorts && item !== null) published.push(item[1]!)
      else inPorts = false
    }
    assert.includeMembers(
      published.map((port) => port.split(":").at(-1)),
      ["5001", "8000", "5672", "15672"]
    )
    for (const port of published) assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, port)
  })
})
