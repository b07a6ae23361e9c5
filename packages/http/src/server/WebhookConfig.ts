import type { Reading, UserId } from "@bg-ingest/domain"
import { Context, type Redacted, type Result, type SchemaIssue } from "effect"

/**
 * A body format the webhook understands besides its own: `accepts` recognizes it, `decode` turns it into
 * readings of the user (failing with a schema issue whose path names the record and field). Every reading's
 * instant obeys the domain's rule (`readingInstantProblem`: 1970–9999, at most 10 minutes after `nowMillis`); a
 * record that breaks it fails the decode with its path. The runner adds the formats of configured providers (a
 * Dexcom EGV body, say), so the HTTP package depends on no adapter.
 */
export interface WebhookFormat {
  readonly name: string
  readonly accepts: (json: unknown) => boolean
  readonly decode: (
    userId: UserId,
    json: unknown,
    nowMillis: number
  ) => Result.Result<{ readonly readings: ReadonlyArray<Reading>; readonly records: number }, SchemaIssue.Issue>
}

/** What the webhook needs: the secrets that may sign a delivery (several while rotating), and extra formats. */
export class WebhookConfig extends Context.Service<
  WebhookConfig,
  {
    readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
    readonly formats: ReadonlyArray<WebhookFormat>
  }
>()("@bg-ingest/http/server/WebhookConfig") {}
