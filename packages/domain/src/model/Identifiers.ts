import { Schema } from "effect"

/**
 * 1–128 characters of `A-Z a-z 0-9 . _ : @ -`, the first a letter or a digit: so no id is a dot segment (`.`,
 * `..`) that a client normalizing paths would turn into another user's path. Anything else is refused at the
 * boundary.
 */
export const UserId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/, {
    expected: "1–128 characters of A-Z a-z 0-9 . _ : @ -, starting with a letter or a digit"
  })
).pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

/** A CGM provider's id, such as `dexcom` or `simulator`: lower-case letters, digits and dashes. */
export const ProviderId = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9-]{0,31}$/, { expected: "a provider id such as dexcom or simulator" })
).pipe(Schema.brand("ProviderId"))
export type ProviderId = typeof ProviderId.Type
