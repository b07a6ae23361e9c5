import { Context, DateTime, Duration, type Effect, Schema } from "effect"
import type { TimeWindow } from "../model/TimeWindow.ts"
import { PortFailure } from "./PortFailure.ts"

export class CallBudgetError extends Schema.TaggedError<CallBudgetError>()("CallBudgetError", {
  operation: Schema.Literals(["take"]),
  ...PortFailure
}) {}

/** A provider's limit on calls: at most `calls` per `per` (Dexcom: per application per hour). */
export interface CallLimit {
  readonly calls: number
  readonly per: Duration.Duration
}

export interface BudgetTake {
  /** Whose budget: one per provider application, shared by every replica. */
  readonly key: string
  /** The fixed window this take counts in. */
  readonly window: TimeWindow
  /** At most this many calls in the window, all replicas together. */
  readonly limit: number
  readonly calls: number
}

/**
 * A provider's call budget kept in the store, so that all replicas together stay under the provider's limit
 * whatever their number.
 */
export interface CallBudgetShape {
  /**
   * Atomically counts `calls` more in the window when its count stays within `limit`; answers whether it did. A
   * take repeated after its answer was lost may count twice: the budget errs on the side of fewer calls.
   */
  readonly take: (request: BudgetTake) => Effect.Effect<boolean, CallBudgetError>
}

export class CallBudget extends Context.Service<CallBudget, CallBudgetShape>()("@bg-ingest/domain/CallBudget") {}

/** How many slots one period of a limit is counted in. */
export const BUDGET_SLOTS = 60

export interface BudgetSlot {
  readonly window: TimeWindow
  readonly limit: number
}

/**
 * The slot that counts a call made at `now`, and how many calls it may hold: a period is counted in up to 60 fixed
 * slots, each allowed `calls / (slots + 1)`, so that no window of one period, wherever it starts (it overlaps at most
 * `slots + 1` slots), holds more than `calls`. Slots also spread the budget over the period: one replica's burst
 * cannot spend an hour's budget in its first minute. A limit under two calls a period allows one call a period.
 */
export const budgetSlotAt = (limit: CallLimit, now: DateTime.Utc): BudgetSlot => {
  const slots = Math.max(1, Math.min(BUDGET_SLOTS, limit.calls - 1))
  const length = Math.max(1, Math.floor(Duration.toMillis(limit.per) / slots))
  const start = Math.floor(DateTime.toEpochMillis(now) / length) * length
  return {
    window: { from: DateTime.makeUnsafe(start), to: DateTime.makeUnsafe(start + length) },
    limit: Math.max(1, Math.floor(limit.calls / (slots + 1)))
  }
}
