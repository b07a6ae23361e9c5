import { Config, ConfigProvider, Effect, Option, Redacted, Result, Schema } from "effect"
import { decode, refuse } from "./Problems.ts"

/**
 * How the text of one variable becomes a value, or what the variable must be (the words after its name in the
 * problem: "must be an integer from 0 to 65535"). The text is never part of a problem.
 */
export interface Format<A> {
  readonly decode: (text: string) => Result.Result<A, string>
}

/** A format from a Schema of the text, with the one thing to say when the Schema refuses it. */
export const format = <A>(schema: Schema.Codec<A, string>, expected: string): Format<A> => {
  const decodeText = Schema.decodeUnknownOption(schema)
  return {
    decode: (text) => Option.match(decodeText(text), { onNone: () => Result.fail(expected), onSome: Result.succeed })
  }
}

/** Any text. */
export const anyText: Format<string> = { decode: Result.succeed }

/** A secret: any text, kept `Redacted` so that no log or message shows it. */
export const secretText: Format<Redacted.Redacted<string>> = { decode: (text) => Result.succeed(Redacted.make(text)) }

/** A whole number in `range`. */
export const integer = (range: { readonly min: number; readonly max: number }): Format<number> =>
  format(
    Schema.NumberFromString.check(Schema.isInt(), Schema.isBetween({ minimum: range.min, maximum: range.max })),
    `must be an integer from ${range.min} to ${range.max}`
  )

/** A whole number of at least 1. */
export const positiveInteger: Format<number> = format(
  Schema.NumberFromString.check(Schema.isInt(), Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(2 ** 53 - 1)),
  "must be a positive integer"
)

/** One of `choices`, exactly as written. */
export const literal = <const L extends ReadonlyArray<string>>(choices: L): Format<L[number]> => ({
  decode: (text) =>
    (choices as ReadonlyArray<string>).includes(text)
      ? Result.succeed(text)
      : Result.fail(`must be one of ${choices.join(", ")}`)
})

/** An absolute URL with one of `protocols` (without `:`), such as `["http", "https"]`. */
export const url = (protocols: ReadonlyArray<string>): Format<URL> => ({
  decode: (text) => {
    const parsed = URL.parse(text)
    return parsed !== null && protocols.includes(parsed.protocol.slice(0, -1))
      ? Result.succeed(parsed)
      : Result.fail(`must be a URL starting with ${protocols.map((protocol) => `${protocol}://`).join(" or ")}`)
  }
})

/**
 * Whether a URL's host is this machine (`localhost`, 127.0.0.0/8, `::1`): the one place where a plain-text
 * connection (an emulator, a broker beside the service) crosses no network.
 */
export const isLoopbackHost = (hostname: string): boolean => {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, "")
  return host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127(?:\.\d{1,3}){3}$/.test(host)
}

/** Comma-separated items (blank ones ignored), each in `item`'s format, or `expected` for the whole list. */
export const list = <A>(item: Format<A>, expected: string): Format<ReadonlyArray<A>> => ({
  decode: (text) => {
    const items: Array<A> = []
    for (const piece of text.split(",")) {
      const trimmed = piece.trim()
      if (trimmed === "") continue
      const decoded = item.decode(trimmed)
      if (Result.isFailure(decoded)) return Result.fail(expected)
      items.push(decoded.success)
    }
    return Result.succeed(items)
  }
})

/** Another format's value, checked further: `rule` says what is wrong, or `undefined`. */
export const refine = <A>(base: Format<A>, rule: (value: A) => string | undefined): Format<A> => ({
  decode: (text) =>
    Result.flatMap(base.decode(text), (value) => {
      const problem = rule(value)
      return problem === undefined ? Result.succeed(value) : Result.fail(problem)
    })
})

/** The variable's text, trimmed; `None` when it is unset or blank. */
export const text = (name: string): Config.Config<Option.Option<string>> =>
  Config.option(Config.String(name)).pipe(
    Config.map(Option.flatMap((value) => Option.liftPredicate(value.trim(), (trimmed) => trimmed !== "")))
  )

/** Whether the variable is set and not blank. */
export const isSet = (name: string): Config.Config<boolean> => Config.map(text(name), Option.isSome)

/** Whether the variable is given at all, even blank (`DEMO_USERS=` says "none"). */
export const isGiven = (name: string): Config.Config<boolean> =>
  Config.map(Config.option(Config.String(name)), Option.isSome)

/** An optional variable: `None` when unset or blank, else its value or a problem. */
export const optional = <A>(name: string, valueFormat: Format<A>): Config.Config<Option.Option<A>> =>
  Config.flatMap(
    text(name),
    Option.match({
      onNone: () => Config.succeed(Option.none<A>()),
      onSome: (value) =>
        Result.match(valueFormat.decode(value), {
          onSuccess: (decoded) => Config.succeed(Option.some(decoded)),
          onFailure: (expected) => refuse(`${name} ${expected}`)
        })
    })
  )

/** A variable with a default for when it is unset or blank. */
export const withDefault = <A, const B = A>(name: string, valueFormat: Format<A>, fallback: B): Config.Config<A | B> =>
  Config.map(
    optional(name, valueFormat),
    Option.getOrElse((): A | B => fallback)
  )

/** A variable that must be set; `requirement` is the problem when it is not ("is required" by default). */
export const required = <A>(name: string, valueFormat: Format<A>, requirement = "is required"): Config.Config<A> =>
  Config.flatMap(
    optional(name, valueFormat),
    Option.match({ onNone: () => refuse(`${name} ${requirement}`), onSome: (value) => Config.succeed(value) })
  )

/**
 * How strict a part of the configuration is. `development` accepts a developer's machine (a fake server on
 * loopback, plain http, development defaults); `strict` only what is safe with real users' data, and each
 * refusal ends with `because` ("when APP_ENV is production").
 */
export type Strictness = { readonly _tag: "Development" } | { readonly _tag: "Strict"; readonly because: string }

export const Strictness = {
  development: { _tag: "Development" } as Strictness,
  strict: (because: string): Strictness => ({ _tag: "Strict", because })
} as const

/**
 * Variables given as a plain record (tests, a bench, a secret's JSON) as a provider. As for the process's own
 * environment, a variable given blank is seen as given (`DEMO_USERS=`) and read as unset.
 */
export const fromVariables = (variables: Readonly<Record<string, string | undefined>>): ConfigProvider.ConfigProvider =>
  ConfigProvider.fromEnvRecord({ ...variables }, { preserveEmptyStrings: true })

/** Decodes a part against plain variables: its value, or every problem. */
export const decodeVariables = <A>(
  config: Config.Config<A>,
  variables: Readonly<Record<string, string | undefined>>
): Result.Result<A, ReadonlyArray<string>> => Effect.runSync(Effect.result(decode(config, fromVariables(variables))))
