import { request as httpRequest, type IncomingHttpHeaders } from "node:http"
import { request as httpsRequest } from "node:https"
import type { LookupFunction } from "node:net"
import { Data, Duration, Effect } from "effect"
import { type AddressRefusal, checkedAddress, type SitePolicy, type SiteResolver } from "./SiteAddress.ts"

/** A site's answer: its status, headers and whole body. Redirects are answers too: they are never followed. */
export interface SiteAnswer {
  readonly status: number
  readonly headers: IncomingHttpHeaders
  readonly body: string
  /** The body's length in bytes, as it came. */
  readonly bytes: number
}

/** A request the service would not make (`scheme`, `address`, `unresolved`), or one that failed on the way. */
export class SiteRequestFailed extends Data.TaggedError("SiteRequestFailed")<{
  readonly reason: AddressRefusal["reason"] | "transport" | "timeout" | "too_large"
  /** What happened, without the URL, its query or anything sent. */
  readonly message: string
}> {}

export interface SiteHttpOptions {
  readonly policy: SitePolicy
  readonly resolve: SiteResolver
  /** The whole exchange, connection to last byte. */
  readonly timeout: Duration.Duration
  readonly maxBodyBytes: number
}

/**
 * One GET to a user's site, safe against the URL being hostile: the host is resolved and every address checked
 * (`checkedAddress`) right before the request, and the connection goes to exactly the checked address (the name is
 * not resolved again, so DNS cannot swap it in between), with the certificate checked against the host name.
 * Redirects are not followed; the body is read up to `maxBodyBytes`.
 */
export const siteGet = (
  url: URL,
  headers: Readonly<Record<string, string>>,
  options: SiteHttpOptions
): Effect.Effect<SiteAnswer, SiteRequestFailed> =>
  Effect.gen(function* () {
    const checked = yield* Effect.promise(() => checkedAddress(url, options.policy, options.resolve))
    if (!checked.ok) return yield* new SiteRequestFailed({ reason: checked.reason, message: checked.message })
    const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
      if ((lookupOptions as { readonly all?: boolean }).all === true) {
        ;(callback as unknown as (error: null, addresses: ReadonlyArray<object>) => void)(null, [checked.value])
      } else {
        callback(null, checked.value.address, checked.value.family)
      }
    }
    return yield* Effect.callback<SiteAnswer, SiteRequestFailed>((resume, signal) => {
      const send = url.protocol === "https:" ? httpsRequest : httpRequest
      const outgoing = send(
        url,
        {
          method: "GET",
          headers: { ...headers, host: url.host, "accept-encoding": "identity" },
          lookup: pinned,
          agent: false,
          signal,
          timeout: Duration.toMillis(options.timeout)
        },
        (response) => {
          const chunks: Array<Buffer> = []
          let size = 0
          response.on("data", (chunk: Buffer) => {
            size += chunk.length
            if (size > options.maxBodyBytes) {
              response.destroy()
              resume(
                Effect.fail(
                  new SiteRequestFailed({
                    reason: "too_large",
                    message: `The answer exceeds ${options.maxBodyBytes} bytes`
                  })
                )
              )
              return
            }
            chunks.push(chunk)
          })
          response.on("end", () =>
            resume(
              Effect.succeed({
                status: response.statusCode ?? 0,
                headers: response.headers,
                body: Buffer.concat(chunks, size).toString("utf8"),
                bytes: size
              })
            )
          )
          response.on("error", (error) =>
            resume(Effect.fail(new SiteRequestFailed({ reason: "transport", message: transportMessage(error) })))
          )
        }
      )
      const deadline = setTimeout(() => {
        outgoing.destroy()
        resume(
          Effect.fail(
            new SiteRequestFailed({
              reason: "timeout",
              message: `No answer within ${Duration.format(options.timeout)}`
            })
          )
        )
      }, Duration.toMillis(options.timeout))
      outgoing.on("close", () => clearTimeout(deadline))
      outgoing.on("timeout", () => outgoing.destroy(new Error("idle timeout")))
      outgoing.on("error", (error) =>
        resume(Effect.fail(new SiteRequestFailed({ reason: "transport", message: transportMessage(error) })))
      )
      outgoing.end()
      return Effect.sync(() => {
        clearTimeout(deadline)
        outgoing.destroy()
      })
    })
  })

/** The network-level reason of a failure (`ECONNREFUSED`, a certificate error), never the URL. */
const transportMessage = (error: Error) => {
  const code = (error as { readonly code?: unknown }).code
  return `The site could not be reached (${typeof code === "string" ? code : error.message.slice(0, 80)})`
}
