import { createHmac } from "node:crypto"
import { Agent, request } from "node:http"
import { formatInstant, type Reading } from "@bg-ingest/domain"

/**
 * A delivery as the webhook contract specifies it: `{ "readings": [...] }` in bg-ingest's own format, signed with
 * `X-Webhook-Timestamp: <unix seconds>` and `X-Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 with
 * WEBHOOK_SECRET over `<timestamp>.<path>.<raw body bytes>` (the path as sent, without the query). The timestamp
 * must be within 300 s of the server's clock.
 */
export const deliveryBody = (readings: ReadonlyArray<Reading>): string =>
  JSON.stringify({
    readings: readings.map((reading) => ({
      timestamp: formatInstant(reading.timestamp),
      glucose_mg_dl: reading.glucoseMgDl,
      trend: reading.trend,
      trend_rate: reading.trendRate,
      status: reading.status,
      record_id: reading.source.recordId
    }))
  })

export const signatureHeaders = (
  secret: string,
  path: string,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000)
) => {
  const timestamp = String(nowSeconds)
  const signature = createHmac("sha256", secret).update(`${timestamp}.${path}.`).update(body).digest("hex")
  return { "x-webhook-timestamp": timestamp, "x-webhook-signature": `sha256=${signature}` }
}

export interface Answer {
  readonly status: number
  readonly body: string
}

/** POSTs a signed delivery; signs it at the moment it is sent. */
export const postDelivery = (agent: Agent, url: URL, secret: string, body: string): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const outgoing = request(
      url,
      {
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          ...signatureHeaders(secret, url.pathname, body)
        }
      },
      (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk) => {
          text += chunk
        })
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text }))
        response.on("error", reject)
      }
    )
    outgoing.on("error", reject)
    outgoing.end(body)
  })

/** Sends every delivery over `concurrency` keep-alive connections; resolves with each answer, in order. */
export const postAll = async (
  baseUrl: string,
  secret: string,
  deliveries: ReadonlyArray<{ readonly userId: string; readonly body: string }>,
  concurrency: number
): Promise<ReadonlyArray<Answer>> => {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency })
  const answers: Array<Answer> = new Array(deliveries.length)
  let next = 0
  const worker = async () => {
    while (next < deliveries.length) {
      const index = next++
      const delivery = deliveries[index]!
      answers[index] = await postDelivery(
        agent,
        new URL(`/api/bg/${delivery.userId}/webhook`, baseUrl),
        secret,
        delivery.body
      )
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker))
    return answers
  } finally {
    agent.destroy()
  }
}
