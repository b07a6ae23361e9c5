import { nightscoutTrends, parseNightscoutTime, type Reading, type UserId } from "@bg-ingest/domain"
import { DateTime, Option } from "effect"
import { HttpServerResponse } from "effect/http"
import type { NightscoutEntryJson } from "../../api/NightscoutSiteApi.ts"

/**
 * A reading's `_id`: 24 hex digits like a MongoDB ObjectId, whose first 8 are its instant in epoch seconds and
 * whose other 16 come from its user (FNV-1a, 64 bits: stable, not a secret — the id is only ever shown on that
 * user's own site), so that it is stable for the reading, distinct across users, and leads back to the reading
 * (`entries/<id>.json`).
 */
const idSuffix = (userId: UserId) => {
  let high = 0xcbf29ce4
  let low = 0x84222325
  for (let index = 0; index < userId.length; index++) {
    low ^= userId.charCodeAt(index)
    // Multiply the 64-bit state by the FNV prime 0x100000001b3, in 32-bit halves.
    const lowProduct = Math.imul(low, 0x1b3)
    const carry = Math.floor(((low >>> 0) * 0x1b3) / 0x100000000)
    high = (Math.imul(high, 0x1b3) + Math.imul(low, 0x100) + carry) >>> 0
    low = lowProduct >>> 0
  }
  return `${(high >>> 0).toString(16).padStart(8, "0")}${(low >>> 0).toString(16).padStart(8, "0")}`
}

/** Readings are never later than now + 10 minutes, so their seconds fit in 8 hex digits until 2106. */
export const entryId = (userId: UserId, epochSeconds: number): string =>
  `${epochSeconds.toString(16).padStart(8, "0").slice(-8)}${idSuffix(userId)}`

/** The instant (epoch seconds) of an `_id` of this user's, if it is one. */
export const secondsOfEntryId = (userId: UserId, id: string): Option.Option<number> => {
  if (!/^[0-9a-f]{24}$/.test(id) || id.slice(8) !== idSuffix(userId)) return Option.none()
  return Option.some(Number.parseInt(id.slice(0, 8), 16))
}

/** The provider a reading came through when it was uploaded to a Nightscout site (its record id is the device). */
export const NIGHTSCOUT_UPLOAD_PROVIDER = "nightscout-upload"

const utcOffsetOf = (reading: Reading): number =>
  reading.displayTime === null
    ? 0
    : Option.match(parseNightscoutTime(reading.displayTime), {
        onNone: () => 0,
        onSome: (time) => time.offsetMinutes ?? 0
      })

/** A reading as a Nightscout SGV entry. */
export const toNightscoutEntry = (reading: Reading): NightscoutEntryJson => {
  const millis = DateTime.toEpochMillis(reading.timestamp)
  const iso = new Date(millis).toISOString()
  const { direction, trend } = nightscoutTrends[reading.trend]
  return {
    _id: entryId(reading.userId, Math.floor(millis / 1000)),
    type: "sgv",
    sgv: reading.glucoseMgDl,
    date: millis,
    dateString: iso,
    sysTime: iso,
    utcOffset: utcOffsetOf(reading),
    direction,
    trend,
    device:
      reading.source.provider === NIGHTSCOUT_UPLOAD_PROVIDER && reading.source.recordId !== null
        ? reading.source.recordId
        : reading.source.provider
  }
}

export type EntryFormat = "json" | "text" | "tsv" | "csv"

const contentTypes: Record<EntryFormat, string> = {
  text: "text/plain",
  tsv: "text/tab-separated-values",
  csv: "text/csv",
  json: "application/json"
}
// Nightscout's order: without an extension, `Accept: */*` (or none) gets text, and an equal preference goes to
// the first of these.
const negotiable: ReadonlyArray<EntryFormat> = ["text", "tsv", "csv", "json"]

interface AcceptItem {
  readonly type: string
  readonly subtype: string
  readonly q: number
  readonly order: number
}

const parseAccept = (header: string): ReadonlyArray<AcceptItem> =>
  header
    .split(",")
    .slice(0, 32)
    .flatMap((part, order) => {
      const [range = "", ...parameters] = part.trim().split(";")
      const [type, subtype] = range.trim().toLowerCase().split("/")
      if (type === undefined || subtype === undefined || type === "" || subtype === "") return []
      const qParameter = parameters.map((p) => p.trim()).find((p) => p.startsWith("q="))
      const q = qParameter === undefined ? 1 : Number(qParameter.slice(2))
      return Number.isFinite(q) ? [{ type, subtype, q, order }] : []
    })

/**
 * The format an extension-less entries request gets, negotiated on `Accept` as Express (its `negotiator`) does for
 * Nightscout: each format takes its most specific matching media range (then the higher quality, then the later
 * one); a quality of 0 rules the format out; the best quality wins, then the more specific match, then the earlier
 * place in the header, then the earlier format.
 */
export const negotiateFormat = (accept: string | undefined): EntryFormat | undefined => {
  if (accept === undefined || accept.trim() === "") return "text"
  const items = parseAccept(accept)
  const candidates: Array<{
    readonly format: EntryFormat
    readonly q: number
    readonly s: number
    readonly o: number
  }> = []
  for (const format of negotiable) {
    const [type, subtype] = contentTypes[format].split("/") as [string, string]
    let match: { q: number; s: number; o: number } | undefined
    for (const item of items) {
      if (item.type !== type && item.type !== "*") continue
      if (item.subtype !== subtype && item.subtype !== "*") continue
      const s = (item.type === type ? 4 : 0) | (item.subtype === subtype ? 2 : 0)
      if (
        match === undefined ||
        s - match.s > 0 ||
        (s === match.s && (item.q - match.q > 0 || (item.q === match.q && item.order > match.o)))
      ) {
        match = { q: item.q, s, o: item.order }
      }
    }
    if (match !== undefined && match.q > 0) candidates.push({ format, ...match })
  }
  candidates.sort((a, b) => b.q - a.q || b.s - a.s || a.o - b.o)
  return candidates[0]?.format
}

/** The format an extension asks for, or none when there is none. */
export const formatOfExtension = (extension: string | undefined): EntryFormat | undefined =>
  extension === "json"
    ? "json"
    : extension === "txt"
      ? "text"
      : extension === "tsv"
        ? "tsv"
        : extension === "csv"
          ? "csv"
          : undefined

/**
 * The device as a text cell. It is the uploader's text, and spreadsheets open these answers: a quote (or the
 * backslash JSON puts before it) would end its cell and start another, and a leading =, +, -, @, tab or CR makes a
 * formula. So quotes and backslashes are left out and such a start gets a ' before it; JSON answers keep it as sent.
 */
const deviceCell = (device: string) => {
  const plain = device.replace(/["\\]/g, "")
  return JSON.stringify(/^[=+\-@\t\r]/.test(plain) ? `'${plain}` : plain)
}

const textLine = (entry: NightscoutEntryJson, separator: string) =>
  [
    JSON.stringify(entry.dateString),
    entry.date,
    entry.sgv,
    JSON.stringify(entry.direction),
    deviceCell(entry.device)
  ].join(separator)

/** Entries in `format`: JSON, or one line per entry (CRLF between lines), as Nightscout writes them. */
export const entriesResponse = (entries: ReadonlyArray<NightscoutEntryJson>, format: EntryFormat) => {
  if (format === "json") return HttpServerResponse.jsonUnsafe(entries)
  const separator = format === "csv" ? "," : "\t"
  return HttpServerResponse.text(entries.map((entry) => textLine(entry, separator)).join("\r\n"), {
    contentType: `${contentTypes[format]}; charset=utf-8`
  })
}
