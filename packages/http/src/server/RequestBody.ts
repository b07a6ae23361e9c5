import { Effect, Stream } from "effect"
import type { HttpServerRequest } from "effect/http"
import { BadRequestProblem, PayloadTooLarge } from "../api/Problems.ts"

/**
 * A request's body bytes, refused with a 413 problem as soon as they exceed `limit` (a declared Content-Length is
 * checked before anything is read). Handlers that read their own body use it, so the limit holds for bodies sent
 * without a declared length too.
 */
export const readBodyBytes = Effect.fnUntraced(function* (
  request: HttpServerRequest.HttpServerRequest,
  limit: number,
  tooLarge: () => PayloadTooLarge = () =>
    new PayloadTooLarge({ detail: `The body may carry at most ${limit} bytes on this route` })
) {
  const declared = Number(request.headers["content-length"])
  if (Number.isFinite(declared) && declared > limit) return yield* tooLarge()
  const chunks: Array<Uint8Array> = []
  let size = 0
  yield* request.stream.pipe(
    Stream.runForEach((chunk) => {
      size += chunk.length
      if (size > limit) return Effect.fail(tooLarge())
      chunks.push(chunk)
      return Effect.void
    }),
    Effect.catchTag("HttpServerError", () =>
      Effect.fail(new BadRequestProblem({ detail: "The body could not be read" }))
    )
  )
  return Buffer.concat(chunks, size)
})

export const isJsonMediaType = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType.trim())
