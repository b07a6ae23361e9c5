import type { Result, SchemaIssue } from "effect"
import type { UserId } from "../model/Identifiers.ts"
import type { Reading } from "../model/Reading.ts"

/** What one webhook delivery carried. */
export interface WebhookDelivery {
  /** The readings to ingest, of the delivery's user. */
  readonly readings: ReadonlyArray<Reading>
  /** How many records the body held, all counted as received (those without a value or with an impossible one too). */
  readonly records: number
}

/**
 * A body format in which partners and relays push readings to the webhook: bg-ingest's own, or a provider's API
 * format offered by its adapter (a Dexcom EGV body), which the runner registers. `accepts` recognizes a parsed
 * JSON body as this format; `decode` turns it into readings of the user, failing with a schema issue whose path
 * names the record and the field. Every reading's instant obeys the domain's rule (`readingInstantProblem`:
 * 1970–9999, at most 10 minutes after `nowMillis`): a record that breaks it fails the decode with its path.
 */
export interface WebhookFormat {
  readonly name: string
  readonly accepts: (json: unknown) => boolean
  readonly decode: (
    userId: UserId,
    json: unknown,
    nowMillis: number
  ) => Result.Result<WebhookDelivery, SchemaIssue.Issue>
}
