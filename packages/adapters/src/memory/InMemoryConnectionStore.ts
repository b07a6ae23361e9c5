import {
  type Connection,
  type ConnectionStatus,
  ConnectionStatuses,
  ConnectionStore,
  type HeldLease,
  pollableStatuses
} from "@bg-ingest/domain"
import { DateTime, Effect, Layer, Option } from "effect"
import { syncMethods } from "../spans/PortMethods.ts"

const keyOf = (userId: string, provider: string) => `${userId}\u0000${provider}`

/** A `ConnectionStore` in process memory: for tests and `STORE=memory`. */
export const makeInMemoryConnectionStore = Effect.sync(() => {
  const method = syncMethods("InMemoryConnectionStore")
  const connections = new Map<string, Connection>()
  /** Who holds each lease, by connection key. */
  const holders = new Map<string, string>()

  /**
   * Moves a lease still held by `lease.holder` to `to`: the connection is pollable and its next poll is the
   * lease's end (or already `to`: a repeat).
   */
  const moveLease = (lease: HeldLease, to: DateTime.Utc): boolean => {
    const key = keyOf(lease.userId, lease.provider)
    const existing = connections.get(key)
    if (
      existing === undefined ||
      existing.nextPollAt === null ||
      holders.get(key) !== lease.holder ||
      !pollableStatuses.includes(existing.status) ||
      !(DateTime.Equivalence(existing.nextPollAt, lease.until) || DateTime.Equivalence(existing.nextPollAt, to))
    ) {
      return false
    }
    connections.set(key, { ...existing, nextPollAt: to })
    return true
  }

  return ConnectionStore.of({
    get: method("get", (userId, provider) => {
      return Option.fromUndefinedOr(connections.get(keyOf(userId, provider)))
    }),
    listForUser: method("listForUser", (userId) => {
      return [...connections.values()]
        .filter((connection) => connection.userId === userId)
        .sort((a, b) => a.provider.localeCompare(b.provider))
    }),
    upsert: method("upsert", (connection) => {
      const key = keyOf(connection.userId, connection.provider)
      connections.set(key, connection)
      holders.delete(key)
    }),
    update: method("update", (userId, provider, patch) => {
      const key = keyOf(userId, provider)
      const existing = connections.get(key)
      if (existing === undefined) return Option.none()
      const next: Connection = { ...existing, ...patch }
      connections.set(key, next)
      return Option.some(next)
    }),
    remove: method("remove", (userId, provider) => {
      holders.delete(keyOf(userId, provider))
      return connections.delete(keyOf(userId, provider))
    }),
    claimDue: method("claimDue", ({ now, leaseUntil, providers, limit, holder }) => {
      const due = [...connections.values()]
        .filter(
          (connection) =>
            connection.nextPollAt !== null &&
            pollableStatuses.includes(connection.status) &&
            providers.includes(connection.provider) &&
            DateTime.isLessThanOrEqualTo(connection.nextPollAt, now)
        )
        .sort((a, b) => DateTime.toEpochMillis(a.nextPollAt!) - DateTime.toEpochMillis(b.nextPollAt!))
        .slice(0, limit)
      for (const connection of due) {
        const key = keyOf(connection.userId, connection.provider)
        connections.set(key, { ...connection, nextPollAt: leaseUntil })
        holders.set(key, holder)
      }
      return due
    }),
    renewLease: method("renewLease", (lease: HeldLease, until: DateTime.Utc) => moveLease(lease, until)),
    releaseLease: method("releaseLease", (lease: HeldLease, dueAt: DateTime.Utc) => moveLease(lease, dueAt)),
    countByStatus: method("countByStatus", () => {
      const counts = Object.fromEntries(ConnectionStatuses.map((status) => [status, 0])) as Record<
        ConnectionStatus,
        number
      >
      for (const connection of connections.values()) counts[connection.status] += 1
      return counts
    })()
  })
})

export const InMemoryConnectionStore = {
  layer: Layer.effect(ConnectionStore, makeInMemoryConnectionStore)
} as const
