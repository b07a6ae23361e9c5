import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Environment from "@bg-ingest/adapters/environment"
import { localVariables } from "@bg-ingest/runner"
import { NodeFileSystem } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Option } from "effect"

const directory = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "bg-ingest-dotenv-"))),
  (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
)

const read = (provider: Parameters<typeof Environment.decode>[1], name: string) =>
  Effect.map(Environment.decode(Environment.text(name), provider), Option.getOrUndefined)

describe("the variables the service starts from", () => {
  it.effect("the process's own, then .env in the working directory: the process's win", () =>
    Effect.gen(function* () {
      const path = yield* directory
      writeFileSync(join(path, ".env"), "PATH=/not/the/real/path\nBG_INGEST_TEST_DOTENV_ONLY='from the file'\n")
      const local = yield* localVariables(path)
      assert.strictEqual(yield* read(local, "PATH"), process.env.PATH?.trim())
      assert.strictEqual(yield* read(local, "BG_INGEST_TEST_DOTENV_ONLY"), "from the file")
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )

  it.effect("without a .env file, the process's alone", () =>
    Effect.gen(function* () {
      const local = yield* localVariables(yield* directory)
      assert.strictEqual(yield* read(local, "PATH"), process.env.PATH?.trim())
      assert.isUndefined(yield* read(local, "BG_INGEST_TEST_DOTENV_ONLY"))
    }).pipe(Effect.provide(NodeFileSystem.layer))
  )
})
