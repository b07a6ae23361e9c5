import { type DynamoDBClient, ThrottlingException } from "@aws-sdk/client-dynamodb"

/** Counts of what the fault injector did, so a test can prove the faults really happened. */
export interface Injected {
  throttled: number
  lostAnswers: number
  unprocessedItems: number
  unprocessedKeys: number
}

export interface FaultPlan {
  /** Throttle the n-th call (1-based) of a command before it reaches the server. */
  readonly throttle: (command: string, n: number) => boolean
  /** Let the n-th write call land, then lose its answer (the SDK sees a reset and retries it). */
  readonly loseAnswer: (command: string, n: number) => boolean
  /** Process only part of the n-th batch call and report the rest unprocessed. */
  readonly partialBatch: (command: string, n: number) => boolean
  /** How many items of a partial batch are processed. */
  readonly processed?: (requested: number) => number
}

type AnyArgs = { input: Record<string, any> }

/**
 * Middleware on the SDK client: throttling and partial batches before the request (outside the SDK's own
 * retries, so the adapter must handle them), and lost answers after a write landed (inside the SDK's retries,
 * so the same write arrives twice).
 */
export const injectFaults = (plan: FaultPlan, injected: Injected) => (sdk: DynamoDBClient, table: string) => {
  const calls = new Map<string, number>()
  const lost = new WeakSet<object>()
  const processed = plan.processed ?? ((requested: number) => Math.ceil(requested / 2))
  sdk.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, "")
      const n = (calls.get(command) ?? 0) + 1
      calls.set(command, n)
      if (plan.throttle(command, n)) {
        injected.throttled += 1
        throw new ThrottlingException({ message: "Rate exceeded (injected)", $metadata: {} })
      }
      const input = (args as unknown as AnyArgs).input
      if (command === "BatchWriteItem" && plan.partialBatch(command, n)) {
        const requests = input.RequestItems[table] as Array<unknown>
        const keep = processed(requests.length)
        const result =
          keep === 0
            ? { output: { $metadata: {} }, response: {} }
            : await next({ ...args, input: { ...input, RequestItems: { [table]: requests.slice(0, keep) } } })
        const rest = requests.slice(keep)
        injected.unprocessedItems += rest.length
        return {
          ...result,
          output: { ...(result.output as object), UnprocessedItems: rest.length > 0 ? { [table]: rest } : {} }
        } as typeof result
      }
      if (command === "BatchGetItem" && plan.partialBatch(command, n)) {
        const request = input.RequestItems[table] as { Keys: Array<unknown> }
        const keep = processed(request.Keys.length)
        const result = await next({
          ...args,
          input: { ...input, RequestItems: { [table]: { ...request, Keys: request.Keys.slice(0, keep) } } }
        })
        const rest = request.Keys.slice(keep)
        injected.unprocessedKeys += rest.length
        return {
          ...result,
          output: {
            ...(result.output as object),
            UnprocessedKeys: rest.length > 0 ? { [table]: { ...request, Keys: rest } } : {}
          }
        } as typeof result
      }
      return next(args)
    },
    { step: "initialize", name: "injectThrottlingAndPartialBatches" }
  )
  const writeCalls = new Map<string, number>()
  sdk.middlewareStack.add(
    (next, context) => async (args) => {
      const command = String(context.commandName).replace(/Command$/, "")
      const input = (args as unknown as AnyArgs).input
      const result = await next(args)
      if (lost.has(input)) return result
      const n = (writeCalls.get(command) ?? 0) + 1
      writeCalls.set(command, n)
      if (plan.loseAnswer(command, n)) {
        lost.add(input)
        injected.lostAnswers += 1
        throw Object.assign(new Error("socket hang up (injected after the write landed)"), {
          code: "ECONNRESET",
          $metadata: {}
        })
      }
      return result
    },
    { step: "deserialize", name: "injectLostAnswers" }
  )
}

export const writes = new Set(["PutItem", "UpdateItem", "TransactWriteItems"])

export const noInjections = (): Injected => ({ throttled: 0, lostAnswers: 0, unprocessedItems: 0, unprocessedKeys: 0 })
