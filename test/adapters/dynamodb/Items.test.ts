import { makeReading, newConnection, ProviderId } from "@bg-ingest/domain"
import { assert, describe, it } from "@effect/vitest"
import { DateTime } from "effect"
import { connectionItem, connectionOfItem } from "../../../packages/adapters/src/dynamodb/ConnectionItems.ts"
import {
  CorruptItem,
  type Item,
  newReadingItem,
  plan,
  readingOfItem,
  userIdOfItem
} from "../../../packages/adapters/src/dynamodb/ReadingItems.ts"
import { Attr } from "../../../packages/adapters/src/dynamodb/TableLayout.ts"
import { user } from "../../support/fixtures.ts"

const alice = user("alice")
const now = DateTime.makeUnsafe(Date.UTC(2026, 2, 1, 9, 30, 0))
const connection = {
  ...newConnection({
    userId: alice,
    provider: ProviderId.make("dexcom-share"),
    backfillFrom: DateTime.subtract(now, { days: 1 }),
    credentials: "sealed-credentials",
    now
  }),
  syncedThrough: now,
  lastError: "timed out",
  consecutiveFailures: 2
}

const corrupt = (read: () => unknown): string => {
  try {
    read()
  } catch (error) {
    assert.instanceOf(error, CorruptItem)
    return (error as CorruptItem).message
  }
  return assert.fail("an item that does not fit was read")
}

describe("DynamoDB connection items", () => {
  it("decode to the connection they were written from", () => {
    assert.deepStrictEqual(connectionOfItem(connectionItem(connection)), connection)
  })

  it("that do not fit the domain's Connection are refused, naming the field and never the credentials", () => {
    const item = connectionItem(connection)
    const cases: ReadonlyArray<readonly [Item, string]> = [
      [{ ...item, [Attr.connectionStatus]: { S: "paused" } }, "status"],
      [{ ...item, [Attr.consecutiveFailures]: { N: "1.5" } }, "consecutiveFailures"],
      [{ ...item, [Attr.pk]: { S: "USER#not a user id" } }, "userId"],
      [{ ...item, [Attr.sk]: { S: "CONNECTION#Not_A_Provider" } }, "provider"],
      [Object.fromEntries(Object.entries(item).filter(([name]) => name !== Attr.createdAt)), "createdAt"]
    ]
    for (const [bad, field] of cases) {
      const message = corrupt(() => connectionOfItem(bad))
      assert.include(message, field)
      assert.notInclude(message, "sealed-credentials")
    }
  })
})

describe("DynamoDB reading items", () => {
  const reading = makeReading({
    userId: alice,
    timestamp: now,
    glucoseMgDl: 123,
    trend: "flat",
    source: { provider: ProviderId.make("dexcom"), recordId: "r1" }
  })
  const item = newReadingItem(plan(reading), 0, "write-1", null)

  it("decode to the reading they were written from, with its user", () => {
    assert.deepStrictEqual(readingOfItem(item, alice), reading)
    assert.strictEqual(userIdOfItem(item), alice)
  })

  it("with a provider id, a user id or a glucose value the domain refuses are refused", () => {
    assert.include(
      corrupt(() => readingOfItem({ ...item, [Attr.provider]: { S: "Dexcom Inc." } }, alice)),
      "provider"
    )
    assert.include(
      corrupt(() => readingOfItem({ ...item, [Attr.glucoseMgDl]: { N: "6000" } }, alice)),
      "glucose"
    )
    assert.include(
      corrupt(() => userIdOfItem({ ...item, [Attr.pk]: { S: "USER#a/b" } })),
      "not a user"
    )
  })
})
