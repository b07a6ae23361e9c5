/** A port's error for a failed SQLite statement: `SQLite <operation><subject> failed: <reason>`, the cause kept. */
export const sqliteFailure =
  <Operation extends string, E>(
    make: (fields: { readonly operation: Operation; readonly message: string; readonly cause: unknown }) => E,
    subject = ""
  ) =>
  (operation: Operation) =>
  (cause: unknown): E =>
    make({
      operation,
      message: `SQLite ${operation}${subject} failed: ${cause instanceof Error ? cause.message : String(cause)}`,
      cause
    })
