import { HttpApiMiddleware } from "effect/http-api"

/**
 * Annotates the log lines a handler writes with the request's id, so that they can be found next to the request's
 * own line. On the routes that change something; reads write their own lines only when something fails.
 */
export class RequestIdLogs extends HttpApiMiddleware.Service<RequestIdLogs>()("@bg-ingest/http/RequestIdLogs") {}
