import { HttpServerResponse } from "effect/http"

/**
 * Nightscout's error answers, `{ status, message, description }` as its `sendJSONStatus` writes them, so that
 * uploaders and followers see what they know. `errors` (which entry or parameter, which field) is added on 400s.
 */

export interface NightscoutIssue {
  readonly path: ReadonlyArray<string | number>
  readonly message: string
}

const messages = {
  400: "Bad Request",
  401: "Unauthorized",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  503: "Service Unavailable"
} as const

export type NightscoutErrorStatus = keyof typeof messages

export const nightscoutError = (
  status: NightscoutErrorStatus,
  description: string,
  errors?: ReadonlyArray<NightscoutIssue>
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.jsonUnsafe(
    { status, message: messages[status], description, ...(errors === undefined ? {} : { errors }) },
    { status }
  )

/** Exactly Nightscout's refusal. */
export const unauthorized = () => nightscoutError(401, "Invalid/Missing")

export const badRequest = (errors: ReadonlyArray<NightscoutIssue>) =>
  nightscoutError(
    400,
    errors
      .slice(0, 5)
      .map(({ path, message }) => (path.length === 0 ? message : `${path.join(".")}: ${message}`))
      .join("; ") + (errors.length > 5 ? `; and ${errors.length - 5} more` : ""),
    errors.slice(0, 100)
  )
