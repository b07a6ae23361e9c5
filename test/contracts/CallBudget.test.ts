import { join } from "node:path"
import { InMemoryCallBudget, SqliteCallBudget, SqliteDatabase } from "@bg-ingest/adapters"
import { CallBudget } from "@bg-ingest/domain"
import { Effect, Layer } from "effect"
import { scratchDirectory } from "../support/sqlite.ts"
import { callBudgetContract, ReplicaBudget } from "./CallBudgetContract.ts"

callBudgetContract("memory", () =>
  Layer.effect(
    ReplicaBudget,
    CallBudget.useSync((budget) => budget)
  ).pipe(Layer.provideMerge(InMemoryCallBudget.layer))
)

// The other replica is another connection to the same database file (another process would be the same).
callBudgetContract("sqlite", () =>
  Layer.unwrap(
    Effect.map(scratchDirectory, (directory) => {
      const database = () => SqliteDatabase.layer({ filename: join(directory, "bg-ingest.db") })
      return Layer.mergeAll(
        SqliteCallBudget.layer.pipe(Layer.provide(database())),
        Layer.effect(
          ReplicaBudget,
          Effect.provide(
            CallBudget.useSync((budget) => budget),
            SqliteCallBudget.layer
          )
        ).pipe(Layer.provide(Layer.fresh(database())))
      )
    })
  )
)
