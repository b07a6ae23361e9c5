import { CallBudget, CallBudgetError } from "@bg-ingest/domain"
import { DateTime, Effect, Layer } from "effect"
import { tryMethods } from "../spans/PortMethods.ts"
import { SqliteDatabase } from "./SqliteDatabase.ts"
import { sqliteFailure } from "./SqliteFailure.ts"

const failure = sqliteFailure(
  (fields: ConstructorParameters<typeof CallBudgetError>[0]) => new CallBudgetError(fields),
  " of a call budget"
)

/**
 * The call budget in the service's SQLite database: one row per key and window, counted in a transaction, so
 * that processes sharing the database file share the budget too.
 */
export const makeSqliteCallBudget = Effect.gen(function* () {
  const { db, transaction } = yield* SqliteDatabase
  const method = tryMethods("SqliteCallBudget", failure)
  const count = db.prepare(`
    INSERT INTO call_budget (budget_key, window_start, window_end, calls) VALUES (?, ?, ?, ?)
    ON CONFLICT (budget_key, window_start) DO UPDATE SET calls = calls + excluded.calls
    WHERE calls + excluded.calls <= ?`)
  const purge = db.prepare("DELETE FROM call_budget WHERE budget_key = ? AND window_end <= ?")

  return CallBudget.of({
    take: method("take", ({ key, window, limit, calls }) => {
      if (calls > limit) return false
      const start = DateTime.toEpochMillis(window.from)
      return transaction(() => {
        purge.run(key, start)
        return Number(count.run(key, start, DateTime.toEpochMillis(window.to), calls, limit).changes) > 0
      })
    })
  })
})

export const SqliteCallBudget = {
  /** Needs a `SqliteDatabase`. */
  layer: Layer.effect(CallBudget, makeSqliteCallBudget)
} as const
