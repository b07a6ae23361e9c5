import { createHmac } from "node:crypto"
import { TEST_WEBHOOK_SECRET } from "./server.ts"

/**
 * The headers a webhook sender computes, written here from the contract rather than taken from the product:
 * `X-Webhook-Timestamp` (unix seconds) and `X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 over
 * `<timestamp>.<path>.<raw body bytes>`, where `path` is the request path as sent, without the query.
 */
export const webhookHeaders = (
  path: string,
  body: Uint8Array | string,
  options: { readonly secret?: string; readonly timestamp?: number; readonly contentType?: string } = {}
): {
  readonly "content-type": string
  readonly "x-webhook-timestamp": string
  readonly "x-webhook-signature": string
} => {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000))
  const mac = createHmac("sha256", options.secret ?? TEST_WEBHOOK_SECRET)
    .update(`${timestamp}.${path}.`)
    .update(body)
    .digest("hex")
  return {
    "content-type": options.contentType ?? "application/json",
    "x-webhook-timestamp": timestamp,
    "x-webhook-signature": `sha256=${mac}`
  }
}
