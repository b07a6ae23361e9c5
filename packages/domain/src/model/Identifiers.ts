import { Schema } from "effect"

/** 1–128 characters of `A-Z a-z 0-9 . _ : @ -`. Anything else is rejected at the boundary. */
export const UserId = Schema.String.check(
  Schema.isPattern(/^[A-Za-z0-9._:@-]{1,128}$/, {
    expected: "1–128 characters of A-Z a-z 0-9 . _ : @ -"
  })
).pipe(Schema.brand("UserId"))
export type UserId = typeof UserId.Type

/** A CGM provider's id, such as `dexcom` or `simulator`: lower-case letters, digits and dashes. */
export const ProviderId = Schema.String.check(
  Schema.isPattern(/^[a-z][a-z0-9-]{0,31}$/, { expected: "a provider id such as dexcom or simulator" })
).pipe(Schema.brand("ProviderId"))
export type ProviderId = typeof ProviderId.Type
