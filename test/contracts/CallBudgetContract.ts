import { CallBudget, makeWindow } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { Context, Effect, type Layer } from "effect"
import { at } from "../support/fixtures.ts"

/** Another replica's `CallBudget` on the same store (its own client or database connection). */
export class ReplicaBudget extends Context.Service<ReplicaBudget, CallBudget["Service"]>()(
  "@bg-ingest/test/ReplicaBudget"
) {}

const minute = (index: number) => makeWindow(at(index), at(index + 1))

/**
 * The behaviour every `CallBudget` adapter must have. `makeLayer` gives an empty budget per test, and another
 * replica's view of the same store.
 */
export const callBudgetContract = (name: string, makeLayer: () => Layer.Layer<CallBudget | ReplicaBudget, unknown>) =>
  describe(`CallBudget contract: ${name}`, () => {
    const test = (title: string, body: Effect.Effect<void, unknown, CallBudget | ReplicaBudget>) =>
      it.live(title, () => body.pipe(Effect.provide(makeLayer())))

    test(
      "counts takes up to the limit of their window, and refuses beyond without counting the refusal",
      Effect.gen(function* () {
        const budget = yield* CallBudget
        const take = (calls: number, window = minute(0), key = "dexcom/app") =>
          budget.take({ key, window, limit: 5, calls })
        assert.deepStrictEqual(
          [yield* take(2), yield* take(1), yield* take(3), yield* take(2), yield* take(6)],
          [true, true, false, true, false]
        )
        assert.isFalse(yield* take(1), "the window is full")
        // Another window, another key: counted apart.
        assert.isTrue(yield* take(5, minute(1)))
        assert.isTrue(yield* take(5, minute(0), "dexcom/other-app"))
        assert.isFalse(yield* take(1, minute(1)))
      })
    )

    test(
      "many fibers of two replicas racing for one window never count past its limit",
      Effect.gen(function* () {
        const budgets = [yield* CallBudget, yield* ReplicaBudget]
        const window = minute(7)
        const granted = yield* Effect.forEach(
          Array.from({ length: 60 }, (_, index) => index),
          (index) => budgets[index % 2]!.take({ key: "dexcom/app", window, limit: 17, calls: 1 }),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(granted.filter(Boolean).length, 17)
        assert.isFalse(yield* budgets[0]!.take({ key: "dexcom/app", window, limit: 17, calls: 1 }))
        assert.isFalse(yield* budgets[1]!.take({ key: "dexcom/app", window, limit: 17, calls: 1 }))
      })
    )
  })
