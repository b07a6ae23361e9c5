import { HttpApiError, HttpApiMiddleware, HttpApiSecurity } from "effect/http-api"

export class Unauthorized extends HttpApiError.Problem<Unauthorized>()("Unauthorized", {
  type: "urn:bg-ingest:problem:unauthorized",
  status: 401,
  title: "Unauthorized"
}) {}

/**
 * `Authorization: Bearer <api key>` on every `/api/**` route except the webhook (which is signed) and the OAuth
 * callback (which carries its own state). The server checks keys only when `API_KEYS` is configured.
 */
export class ApiKeyAuth extends HttpApiMiddleware.Service<ApiKeyAuth>()("@bg-ingest/http/ApiKeyAuth", {
  security: { bearer: HttpApiSecurity.bearer },
  error: Unauthorized
}) {}
