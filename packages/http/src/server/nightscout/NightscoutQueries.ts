import { conditionsOn, NIGHTSCOUT_MAX_COUNT, type NightscoutOperator } from "../../api/NightscoutSiteQuery.ts"
import { type EntryFormat, formatOfExtension } from "./NightscoutFormats.ts"

/** What `entries/:spec` names: entries of a type (`sgv`, `mbg`…), the current entry, or one entry by its `_id`. */
export type EntriesTarget =
  | { readonly kind: "type"; readonly type: string }
  | { readonly kind: "current" }
  | { readonly kind: "id"; readonly id: string }

export interface EntriesRequest {
  /** The decoded entries query (`count`, `find[...]` bounds as epoch milliseconds, `find[type]`). */
  readonly query: Readonly<Record<string, unknown>>
  readonly target?: EntriesTarget | undefined
}

const DEFAULT_COUNT = 10

/** `sgv.json` → entries of type sgv, as JSON; `current` → the current entry, format negotiated; and so on. */
export const parseSpec = (
  spec: string
): { readonly target: EntriesTarget; readonly format: EntryFormat | undefined } => {
  const dot = spec.lastIndexOf(".")
  const name = dot === -1 ? spec : spec.slice(0, dot)
  const format = dot === -1 ? undefined : formatOfExtension(spec.slice(dot + 1))
  const target: EntriesTarget =
    name === "current"
      ? { kind: "current" }
      : /^[0-9a-f]{24}$/.test(name)
        ? { kind: "id", id: name }
        : { kind: "type", type: name }
  return { target, format }
}

export interface EntryFilter {
  /** The query cannot match a stored reading (it asks for another type). */
  readonly none: boolean
  /** Epoch milliseconds: `from` inclusive, `to` exclusive. */
  readonly from: number
  readonly to: number
  readonly count: number
}

/** The half-open interval a condition on an instant allows, in epoch milliseconds. */
const boundsOf = ([operator, value]: readonly [NightscoutOperator, number]): readonly [number, number] => {
  switch (operator) {
    case "$gt":
      return [value + 1, Number.POSITIVE_INFINITY]
    case "$gte":
      return [value, Number.POSITIVE_INFINITY]
    case "$lt":
      return [Number.NEGATIVE_INFINITY, value]
    case "$lte":
      return [Number.NEGATIVE_INFINITY, value + 1]
    case "$eq":
    case "=":
      return [value, value + 1]
  }
}

/**
 * The readings a query selects. Bounds on `date` and on `dateString` are both compared as instants (Nightscout
 * compares `dateString` as text, which misses an entry at exactly a `$gte` bound written without milliseconds);
 * together they intersect. Without any date bound, Nightscout answers the last 4 days: `defaultFrom` onwards.
 * `count` defaults to 10, and 0 means as many as the service answers at most; `current` is one entry.
 */
export const entryFilter = (request: EntriesRequest, defaultFrom: number, defaultTo: number): EntryFilter => {
  const { query, target } = request
  const conditions = [...conditionsOn(query, "date"), ...conditionsOn(query, "dateString")]
  let from = conditions.length === 0 ? defaultFrom : 0
  let to = defaultTo
  for (const condition of conditions) {
    const [low, high] = boundsOf(condition)
    from = Math.max(from, low)
    to = Math.min(to, high)
  }
  const types = [query["find[type]"], query["find[type][$eq]"], target?.kind === "type" ? target.type : undefined]
  const none = types.some((type) => type !== undefined && type !== "sgv")
  const requested = typeof query.count === "number" ? query.count : DEFAULT_COUNT
  const count = target?.kind === "current" ? 1 : requested === 0 ? NIGHTSCOUT_MAX_COUNT : requested
  return { none, from, to, count }
}
