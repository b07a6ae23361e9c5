/** Query and body times: the domain's strict RFC 3339 parser (real calendar dates, zone required, 1970–9999). */
export { Rfc3339Instant } from "@bg-ingest/domain"
