import type { AttributeValue } from "@aws-sdk/client-dynamodb"
import { Effect } from "effect"
import type { DynamoFailure } from "./DynamoErrors.ts"
import type { Item } from "./ReadingItems.ts"

export interface Page {
  readonly items: ReadonlyArray<Item>
  readonly next: Record<string, AttributeValue> | undefined
}

interface Cursor {
  readonly fetch: (start: Record<string, AttributeValue> | undefined) => Effect.Effect<Page, DynamoFailure>
  buffer: Array<Item>
  next: Record<string, AttributeValue> | undefined
  started: boolean
}

const exhausted = (cursor: Cursor) => cursor.started && cursor.next === undefined

/**
 * Several ascending queries (the shards of an index, or one per provider) read as one ascending sequence:
 * a k-way merge that fetches a source's next page only when its buffered items run out, so taking `n`
 * items reads about `n` items, however many the sources hold.
 */
export const mergedQuery = (
  sources: ReadonlyArray<(start: Record<string, AttributeValue> | undefined) => Effect.Effect<Page, DynamoFailure>>,
  order: (item: Item) => number
) => {
  const cursors: Array<Cursor> = sources.map((fetch) => ({ fetch, buffer: [], next: undefined, started: false }))

  const refill = (cursor: Cursor) =>
    Effect.map(cursor.fetch(cursor.next), (page) => {
      cursor.buffer = [...page.items]
      cursor.next = page.next
      cursor.started = true
    })

  /** The next `count` items in order (fewer when the sources run out). */
  const take = Effect.fnUntraced(function* (count: number) {
    const taken: Array<Item> = []
    while (taken.length < count) {
      // A source's head is known only once its buffer holds an item: fill every empty one that has more.
      const empty = cursors.filter((cursor) => cursor.buffer.length === 0 && !exhausted(cursor))
      yield* Effect.forEach(empty, refill, { concurrency: 8, discard: true })
      if (empty.some((cursor) => cursor.buffer.length === 0 && !exhausted(cursor))) continue
      let first: Cursor | undefined
      for (const cursor of cursors) {
        if (cursor.buffer.length === 0) continue
        if (first === undefined || order(cursor.buffer[0]!) < order(first.buffer[0]!)) first = cursor
      }
      if (first === undefined) break
      taken.push(first.buffer.shift()!)
    }
    return taken
  })

  return { take }
}
