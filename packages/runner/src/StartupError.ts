import { Schema } from "effect"

/** Something the service needs at start-up is missing or broken; `message` says what, for a person. */
export class StartupError extends Schema.TaggedError<StartupError>()("StartupError", {
  message: Schema.String
}) {}
