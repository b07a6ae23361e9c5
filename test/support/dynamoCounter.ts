/**
 * A counting HTTP proxy in front of a DynamoDB-compatible server: every request passes through unchanged, and is
 * counted by operation (`X-Amz-Target`), with the items it wrote (one per PutItem, UpdateItem, DeleteItem, one per
 * request of a BatchWriteItem or TransactWriteItems) and the items it read (those a GetItem, BatchGetItem, Query or
 * Scan answered, and what `Count` a `Select: COUNT` query counted). DynamoDB bills on-demand writes per item of up
 * to 1 KB and reads per 4 KB, so for bg-ingest's small items these counts are the request units.
 */
import { Agent, createServer, request as httpRequest, type IncomingMessage } from "node:http"
import type { AddressInfo } from "node:net"

export interface DynamoCounts {
  readonly requests: Record<string, number>
  readonly itemsWritten: number
  readonly itemsRead: number
  /** Conditional writes DynamoDB refused (`ConditionalCheckFailedException`): billed as writes all the same. */
  readonly conditionFailed: number
  /** The refused ones, by operation (by kind of request with DYNAMO_COUNTER_DETAIL=1). */
  readonly refused: Record<string, number>
}

const readAll = (stream: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.on("end", () => resolve(Buffer.concat(chunks)))
    stream.on("error", reject)
  })

const written = (operation: string, body: any): number => {
  switch (operation) {
    case "PutItem":
    case "UpdateItem":
    case "DeleteItem":
      return 1
    case "BatchWriteItem":
      return Object.values(body?.RequestItems ?? {}).reduce((sum: number, list: any) => sum + list.length, 0)
    case "TransactWriteItems":
      return (body?.TransactItems ?? []).length
    default:
      return 0
  }
}

const read = (operation: string, answer: any): number => {
  switch (operation) {
    case "GetItem":
      return answer?.Item === undefined ? 0 : 1
    case "BatchGetItem":
      return Object.values(answer?.Responses ?? {}).reduce((sum: number, list: any) => sum + list.length, 0)
    case "Query":
    case "Scan":
      return answer?.Items?.length ?? answer?.Count ?? 0
    default:
      return 0
  }
}

export const startDynamoCounter = async (target: string) => {
  const upstream = new URL(target)
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  const fresh = () => ({
    requests: {} as Record<string, number>,
    itemsWritten: 0,
    itemsRead: 0,
    conditionFailed: 0,
    refused: {} as Record<string, number>
  })
  let counts = fresh()
  const server = createServer(async (request, response) => {
    const body = await readAll(request)
    const operation = String(request.headers["x-amz-target"] ?? "").split(".")[1] ?? "unknown"
    const forwarded = httpRequest({
      host: upstream.hostname,
      port: upstream.port,
      method: request.method,
      path: request.url,
      headers: request.headers,
      agent
    })
    forwarded.on("response", async (answer) => {
      const answerBody = await readAll(answer)
      try {
        const parsedRequest = JSON.parse(body.toString("utf8") || "{}")
        const parsedAnswer = JSON.parse(answerBody.toString("utf8") || "{}")
        // DYNAMO_COUNTER_DETAIL=1 counts each kind of request apart (its update, condition or index).
        const detail = process.env.DYNAMO_COUNTER_DETAIL
          ? `${operation} ${String(parsedRequest.UpdateExpression ?? parsedRequest.ConditionExpression ?? parsedRequest.IndexName ?? "").slice(0, 60)}`
          : operation
        counts.requests[detail] = (counts.requests[detail] ?? 0) + 1
        counts.itemsWritten += written(operation, parsedRequest)
        counts.itemsRead += read(operation, parsedAnswer)
        if (String(parsedAnswer.__type ?? "").endsWith("ConditionalCheckFailedException")) {
          counts.conditionFailed += 1
          counts.refused[detail] = (counts.refused[detail] ?? 0) + 1
        }
      } catch {
        counts.requests[operation] = (counts.requests[operation] ?? 0) + 1
      }
      response.writeHead(answer.statusCode ?? 500, answer.headers)
      response.end(answerBody)
    })
    forwarded.on("error", () => {
      response.destroy()
    })
    forwarded.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** The counts since the last reset, and a fresh start. */
    take: (): DynamoCounts => {
      const taken = counts
      counts = fresh()
      return taken
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy()
        server.closeAllConnections()
        server.close(() => resolve())
      })
  }
}
