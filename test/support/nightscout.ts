import { createHash } from "node:crypto"
import { request as httpRequest } from "node:http"
import { makeWindow, ReadingStore, UserId } from "@bg-ingest/domain"
import { DateTime, Effect } from "effect"
import { HttpServer } from "effect/http"
import { post, postRaw } from "./server.ts"

export const sha1 = (text: string) => createHash("sha1").update(text).digest("hex")

export interface SiteCredentials {
  readonly apiSecret: string
  readonly readToken: string
  /** What uploaders send in `api-secret`. */
  readonly secretHeader: { readonly "api-secret": string }
}

/** Opens (or rotates) a user's Nightscout site through the API, as its owner would. */
export const openSite = (userId: string, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const answer = yield* post(`/api/bg/${userId}/nightscout`, headers)
    if (answer.status !== 201 && answer.status !== 200) {
      return yield* Effect.die(new Error(`opening the site answered ${answer.status}: ${JSON.stringify(answer.body)}`))
    }
    return {
      apiSecret: answer.body.api_secret as string,
      readToken: answer.body.read_token as string,
      secretHeader: { "api-secret": sha1(answer.body.api_secret) }
    } satisfies SiteCredentials
  })

/** POSTs JSON as an uploader does (`application/json`). */
export const upload = (url: string, entries: unknown, headers: Record<string, string>) =>
  postRaw(url, new TextEncoder().encode(JSON.stringify(entries)), { "content-type": "application/json", ...headers })

/** Every stored reading of a user, oldest first. */
export const storedReadings = (userId: string) =>
  ReadingStore.use((store) =>
    store.range(UserId.make(userId), makeWindow(DateTime.makeUnsafe(0), DateTime.makeUnsafe(Date.UTC(2100, 0))), 50_000)
  )

/** A five-minute instant (epoch ms) `steps` before the last one before now: reading times that are never ahead. */
export const fiveMinutesAgo = (steps: number, now = Date.now()) => Math.floor(now / 300_000) * 300_000 - steps * 300_000

/**
 * A GET with the path sent exactly as written (no URL normalization by a client library), for path tricks such
 * as `..` segments and encoded slashes. Answers the status and the body text.
 */
export const rawGet = (path: string, headers: Record<string, string> = {}) =>
  HttpServer.addressFormattedWith((base) =>
    Effect.callback<{ readonly status: number; readonly body: string }>((resume) => {
      const outgoing = httpRequest(
        { host: "127.0.0.1", port: Number(new URL(base).port), path, method: "GET", headers, agent: false },
        (response) => {
          let body = ""
          response.setEncoding("utf8")
          response.on("data", (chunk) => {
            body += chunk
          })
          response.on("end", () => resume(Effect.succeed({ status: response.statusCode ?? 0, body })))
        }
      )
      outgoing.on("error", (error) => resume(Effect.die(error)))
      outgoing.end()
    })
  )
