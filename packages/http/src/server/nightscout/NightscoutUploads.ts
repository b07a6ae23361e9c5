import { promisify } from "node:util"
import { gunzip, inflate } from "node:zlib"
import { meaningOfEntry, ProviderId, type Reading, readingKey, type UserId } from "@bg-ingest/domain"
import { Data, Effect, Result } from "effect"
import type { HttpServerRequest } from "effect/http"
import { isJsonMediaType, readLimitedBody } from "../RequestBody.ts"
import { NIGHTSCOUT_UPLOAD_PROVIDER } from "./NightscoutFormats.ts"
import type { NightscoutIssue } from "./NightscoutResponses.ts"

/**
 * An upload is bounded after decompression: Nightscout takes up to 50 MB, but a day of 5-minute entries is about
 * 60 kB and uploaders send far less at once; these limits leave weeks of one-minute data in one request.
 */
export const NIGHTSCOUT_MAX_BODY_BYTES = 4 * 1024 * 1024
export const NIGHTSCOUT_MAX_ENTRIES = 20_000
/**
 * Upload bodies held at once by the process, all sites together (what came in, and what it inflated to): an
 * upload beyond it is answered 503, which uploaders send again, rather than buffered. Uploads are a few kB, so this
 * only ever stops many large or slow ones (one site's uploader could otherwise hold 4 MiB per connection).
 */
export const NIGHTSCOUT_MAX_BYTES_IN_FLIGHT = 32 * 1024 * 1024
let bytesInFlight = 0

const gunzipAsync = promisify(gunzip)
const inflateAsync = promisify(inflate)

export class UploadRefused extends Data.TaggedError("UploadRefused")<{
  readonly status: 400 | 413 | 415 | 503
  readonly description: string
  readonly errors?: ReadonlyArray<NightscoutIssue>
}> {}

const tooLarge = () =>
  new UploadRefused({
    status: 413,
    description: `An upload may carry at most ${NIGHTSCOUT_MAX_BODY_BYTES} bytes (uncompressed) and ${NIGHTSCOUT_MAX_ENTRIES} entries`
  })

/** Uploaders that send no Content-Type mean JSON. */
const isJson = (contentType: string | undefined) =>
  contentType === undefined || contentType.trim() === "" || isJsonMediaType(contentType)

const busy = () =>
  new UploadRefused({
    status: 503,
    description: "Too many uploads are being received right now; send it again shortly"
  })

/** Counts `bytes` more held by uploads, unless that goes past the process's bound. */
const hold = (held: { bytes: number }, bytes: number) => {
  if (bytesInFlight + bytes > NIGHTSCOUT_MAX_BYTES_IN_FLIGHT) return false
  bytesInFlight += bytes
  held.bytes += bytes
  return true
}

/**
 * The body's bytes, read only up to the limit (a declared Content-Length is checked first), inflated when
 * `Content-Encoding` is gzip or deflate (xDrip+ compresses its uploads) with the same limit on what comes out. What
 * it holds counts against the bound of all uploads together until the scope closes (the upload is done).
 */
export const readUploadBody = Effect.fnUntraced(function* (request: HttpServerRequest.HttpServerRequest) {
  const held = { bytes: 0 }
  yield* Effect.addFinalizer(() =>
    Effect.sync(() => {
      bytesInFlight -= held.bytes
    })
  )
  if (!isJson(request.headers["content-type"])) {
    return yield* new UploadRefused({
      status: 415,
      description: "The body must be JSON (Content-Type: application/json)"
    })
  }
  const encoding = (request.headers["content-encoding"] ?? "identity").trim().toLowerCase()
  if (!["identity", "gzip", "x-gzip", "deflate"].includes(encoding)) {
    return yield* new UploadRefused({
      status: 415,
      description: `Content-Encoding ${encoding.slice(0, 32)} is not accepted`
    })
  }
  const raw = yield* readLimitedBody(request, NIGHTSCOUT_MAX_BODY_BYTES, {
    tooLarge,
    unreadable: () => new UploadRefused({ status: 400, description: "The body could not be read" }),
    admit: { chunk: (bytes) => hold(held, bytes), busy }
  })
  if (encoding === "identity") return raw
  // What it inflates to is held too: as much as the limit allows, until the upload is done.
  if (!hold(held, NIGHTSCOUT_MAX_BODY_BYTES)) return yield* busy()
  return yield* Effect.tryPromise({
    try: () =>
      (encoding === "deflate" ? inflateAsync : gunzipAsync)(raw, { maxOutputLength: NIGHTSCOUT_MAX_BODY_BYTES }),
    catch: (cause) =>
      (cause as { readonly code?: unknown })?.code === "ERR_BUFFER_TOO_LARGE"
        ? tooLarge()
        : new UploadRefused({ status: 400, description: `The body is not valid ${encoding}` })
  })
})

/** What one upload holds: the readings to store, and how many entries were not readings. */
export interface ParsedUpload {
  readonly entries: number
  readonly readings: ReadonlyArray<Reading>
  readonly skipped: { readonly notSgv: number; readonly noValue: number; readonly errorCode: number }
}

const uploadProvider = ProviderId.make(NIGHTSCOUT_UPLOAD_PROVIDER)

/**
 * The entries of an upload (an array, or one entry object), each read as Nightscout's entries are: readings are
 * kept (the last of two at one second wins, as across two uploads), everything else is counted. A reading that
 * cannot be stored refuses the whole upload, naming every such entry and field, so nothing is stored half.
 */
export const parseUpload = (
  bytes: Uint8Array,
  userId: UserId,
  nowMillis: number
): Result.Result<ParsedUpload, UploadRefused> => {
  let json: unknown
  try {
    json = JSON.parse(Buffer.from(bytes).toString("utf8"))
  } catch {
    return Result.fail(new UploadRefused({ status: 400, description: "The body is not valid JSON" }))
  }
  const entries: ReadonlyArray<unknown> | undefined = Array.isArray(json)
    ? json
    : typeof json === "object" && json !== null
      ? [json]
      : undefined
  if (entries === undefined) {
    return Result.fail(new UploadRefused({ status: 400, description: "Expected an array of entries or one entry" }))
  }
  if (entries.length > NIGHTSCOUT_MAX_ENTRIES) return Result.fail(tooLarge())
  const readings = new Map<string, Reading>()
  const skipped = { notSgv: 0, noValue: 0, errorCode: 0 }
  const issues: Array<NightscoutIssue> = []
  const options = { userId, provider: uploadProvider, nowMillis, recordId: "device" as const }
  entries.forEach((entry, index) => {
    const meaning = meaningOfEntry(entry, options)
    if (Result.isFailure(meaning)) {
      const { field, message } = meaning.failure
      issues.push({ path: field === "" ? [index] : [index, field], message })
      return
    }
    const value = meaning.success
    if (value.kind === "reading") {
      const key = readingKey(value.reading)
      readings.delete(key)
      readings.set(key, value.reading)
    } else if (value.reason === "not_sgv") skipped.notSgv += 1
    else if (value.reason === "no_value") skipped.noValue += 1
    else skipped.errorCode += 1
  })
  if (issues.length > 0) {
    return Result.fail(
      new UploadRefused({ status: 400, description: "Some entries cannot be stored; nothing was", errors: issues })
    )
  }
  return Result.succeed({ entries: entries.length, readings: [...readings.values()], skipped })
}
