/**
 * At most `limit` attempts per key in each window of `windowMillis` (fixed windows), in memory, for at most
 * `maxKeys` keys at once: when more keys are seen, the oldest are forgotten rather than memory grown.
 */
export class RateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>()
  private readonly limit: number
  private readonly windowMillis: number
  private readonly maxKeys: number

  constructor(options: { readonly limit: number; readonly windowMillis: number; readonly maxKeys?: number }) {
    this.limit = options.limit
    this.windowMillis = options.windowMillis
    this.maxKeys = options.maxKeys ?? 10_000
  }

  /** Counts an attempt for `key`: undefined when allowed, else the milliseconds until the next one may be made. */
  take(key: string, nowMillis: number): number | undefined {
    let window = this.windows.get(key)
    if (window === undefined || nowMillis - window.start >= this.windowMillis) {
      this.windows.delete(key)
      if (this.windows.size >= this.maxKeys) this.windows.delete(this.windows.keys().next().value!)
      window = { start: nowMillis, count: 0 }
      this.windows.set(key, window)
    }
    if (window.count >= this.limit) return window.start + this.windowMillis - nowMillis
    window.count += 1
    return undefined
  }
}
