import { Effect, Stream } from "effect"
import type { HttpServerRequest } from "effect/http"
import { BadRequestProblem, PayloadTooLarge } from "../api/Problems.ts"

/**
 * A request's body bytes, refused with `tooLarge()` as soon as they exceed `limit` (a declared Content-Length is
 * checked before anything is read) and with `unreadable()` when the body cannot be read.
 */
export const readLimitedBody = Effect.fnUntraced(function* <TooLarge, Unreadable>(
  request: HttpServerRequest.HttpServerRequest,
  limit: number,
  refusals: {
    readonly tooLarge: () => TooLarge
    readonly unreadable: () => Unreadable
    /**
     * Asked before each chunk is kept, for a bound on the bytes all requests hold together: `false` refuses the
     * body with `busy` (a refusal of the same kind as `tooLarge`, with its own answer).
     */
    readonly admit?: { readonly chunk: (bytes: number) => boolean; readonly busy: () => TooLarge }
  }
) {
  const declared = Number(request.headers["content-length"])
  if (Number.isFinite(declared) && declared > limit) return yield* Effect.fail(refusals.tooLarge())
  const chunks: Array<Uint8Array> = []
  let size = 0
  yield* request.stream.pipe(
    Stream.mapError(refusals.unreadable),
    Stream.runForEach((chunk) => {
      size += chunk.length
      if (size > limit) return Effect.fail(refusals.tooLarge())
      if (refusals.admit !== undefined && !refusals.admit.chunk(chunk.length)) return Effect.fail(refusals.admit.busy())
      chunks.push(chunk)
      return Effect.void
    })
  )
  return Buffer.concat(chunks, size)
})

/**
 * A request's body bytes, refused with a 413 problem as soon as they exceed `limit`. Handlers that read their own
 * body use it, so the limit holds for bodies sent without a declared length too.
 */
export const readBodyBytes = (
  request: HttpServerRequest.HttpServerRequest,
  limit: number,
  tooLarge: () => PayloadTooLarge = () =>
    new PayloadTooLarge({ detail: `The body may carry at most ${limit} bytes on this route` })
) =>
  readLimitedBody(request, limit, {
    tooLarge,
    unreadable: () => new BadRequestProblem({ detail: "The body could not be read" })
  })

export const isJsonMediaType = (contentType: string | undefined): boolean =>
  contentType !== undefined && /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType.trim())
