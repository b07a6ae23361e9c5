import { Cause, Effect, ErrorReporter, type Layer, SchemaIssue } from "effect"
import { HttpServerRespondable } from "effect/http"
import { HttpApiError, HttpApiMiddleware } from "effect/http-api"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

const slotNames: Record<string, string> = {
  params: "path parameter",
  query: "query parameter",
  headers: "header",
  payload: "body"
}

/**
 * A 400 problem from a schema failure: `detail` names each offending field and why, and `errors` has one entry per
 * issue whose `path` starts with the request slot (`params`, `query`, `headers`, `payload`).
 */
export const badRequestFromIssue = (slot: string, issue: SchemaIssue.Issue): HttpApiError.BadRequestProblem => {
  const errors = formatIssues(issue).issues.map((entry) => ({
    path: [slot, ...(entry.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))].map(
      (segment) => (typeof segment === "number" ? segment : String(segment))
    ),
    message: entry.message
  }))
  const detail = errors
    .map(({ path, message }) => {
      const field = path
        .slice(1)
        .map((segment, index) => (typeof segment === "number" ? `[${segment}]` : index === 0 ? segment : `.${segment}`))
        .join("")
      const where = slotNames[slot] ?? slot
      return field === "" ? `Invalid ${where}: ${message}` : `Invalid ${where} ${field}: ${message}`
    })
    .join("; ")
  return new HttpApiError.BadRequestProblem({ detail, errors })
}

/**
 * Request decoding failures become a 400 problem whose `detail` names each offending field and why, with one
 * `errors` entry per issue (`path` starts with the request slot). A response that fails to encode is a bug:
 * reported, and answered with a bare 500 problem.
 */
export const ProblemDetailsLive: Layer.Layer<HttpApiMiddleware.ProblemDetails> =
  HttpApiMiddleware.layerSchemaErrorTransform(HttpApiMiddleware.ProblemDetails, (error) => {
    if (error.kind === "Body" || error.kind === "ResponseHeaders") {
      return Effect.andThen(
        ErrorReporter.report(Cause.fail(error)),
        HttpServerRespondable.toResponse(new HttpApiError.InternalServerErrorProblem())
      )
    }
    const slot = error.kind.toLowerCase()
    const errors = formatIssues(error.cause.issue).issues.map((issue) => ({
      path: [slot, ...(issue.path ?? []).map((segment) => String(typeof segment === "object" ? segment.key : segment))],
      message: issue.message
    }))
    const detail = errors
      .map(({ path, message }) => {
        const field = path.slice(1).join(".")
        return field === ""
          ? `Invalid ${slotNames[slot] ?? slot}: ${message}`
          : `Invalid ${slotNames[slot] ?? slot} ${field}: ${message}`
      })
      .join("; ")
    return Effect.fail(new HttpApiError.BadRequestProblem({ detail, errors }))
  })
