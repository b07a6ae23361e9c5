import { Schema } from "effect"

/** What a port's error carries besides what failed: a message to log, and the adapter's underlying cause if any. */
export const PortFailure = {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect())
}
