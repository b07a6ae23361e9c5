import type { WebhookFormat } from "@bg-ingest/domain"
import { Context, type Redacted } from "effect"

export type { WebhookFormat } from "@bg-ingest/domain"

/**
 * What the webhook needs: the secrets that may sign a delivery (several while rotating), and the body formats it
 * understands besides its own (the runner adds those of the configured providers, so the HTTP package depends on
 * no adapter).
 */
export class WebhookConfig extends Context.Service<
  WebhookConfig,
  {
    readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
    readonly formats: ReadonlyArray<WebhookFormat>
  }
>()("@bg-ingest/http/server/WebhookConfig") {}
