import { Config, Effect, Record as Rec, Result, Schema, SchemaAST, SchemaIssue } from "effect"

/**
 * A refused configuration is a `Config.ConfigError` whose issues are problems: one line each, naming the variable
 * and what it must be, never its value. `all` and `check` keep every problem of every part, so that one start-up
 * message names them all.
 */

const schemaError = (first: SchemaIssue.Issue, rest: ReadonlyArray<SchemaIssue.Issue>): Schema.SchemaError =>
  new Schema.SchemaError(rest.length === 0 ? first : new SchemaIssue.Composite(SchemaAST.unknown, [first, ...rest]))

const issueOf = (message: string): SchemaIssue.Issue => new SchemaIssue.InvalidValue({ message })

/** Refuses the configuration for these problems, each a line such as "PORT must be an integer from 0 to 65535". */
export const refuse = (first: string, ...rest: ReadonlyArray<string>): Config.Config<never> =>
  Config.fail(schemaError(issueOf(first), rest.map(issueOf)))

/** Refuses the configuration for `problems` when there are any; nothing to decode otherwise. */
export const verify = (problems: ReadonlyArray<string>): Config.Config<void> => {
  const [first, ...rest] = problems
  return first === undefined ? Config.succeed(undefined) : refuse(first, ...rest)
}

const pathName = (path: ReadonlyArray<PropertyKey>) => path.map(String).join("_")

const lines = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): Array<string> => {
  switch (issue._tag) {
    case "Composite":
      return issue.issues.flatMap((inner) => lines(inner, path))
    case "Pointer":
      return lines(issue.issue, [...path, ...issue.path])
    case "MissingKey":
      return [`${pathName(path)} is required`]
    case "InvalidValue":
      if (issue.annotations?.message !== undefined) {
        return [path.length === 0 ? issue.annotations.message : `${pathName(path)} ${issue.annotations.message}`]
      }
  }
  // A part written with Effect's own `Config` constructors: their messages, which never include the input.
  return SchemaIssue.makeFormatterStandardSchemaV1()(issue).issues.map((found) => {
    const at = [...path, ...(found.path ?? []).map((segment) => (typeof segment === "object" ? segment.key : segment))]
    return at.length === 0 ? found.message : `${pathName(at)}: ${found.message}`
  })
}

/** The problems of a refused configuration, one line each, in the order the parts declare their variables. */
export const problemsOf = (error: Config.ConfigError): ReadonlyArray<string> =>
  error.cause._tag === "SourceError" ? [error.cause.message] : lines(error.cause.issue, [])

const settle = <A>(config: Config.Config<A>): Config.Config<Result.Result<A, Config.ConfigError>> =>
  config.pipe(
    Config.map(Result.succeed),
    Config.orElse((error) => Config.succeed(Result.fail(error)))
  )

/** One error for several: a source that cannot be read wins (nothing else can be trusted); problems add up. */
const combine = (first: Config.ConfigError, rest: ReadonlyArray<Config.ConfigError>): Config.Config<never> => {
  const errors = [first, ...rest]
  const unreadable = errors.find((error) => error.cause._tag === "SourceError")
  if (unreadable !== undefined) return Config.fail(unreadable.cause)
  const [issue, ...issues] = errors.flatMap((error) => (error.cause._tag === "SchemaError" ? [error.cause.issue] : []))
  return issue === undefined ? Config.fail(first.cause) : Config.fail(schemaError(issue, issues))
}

/**
 * Every part, each decoded whatever the others found: the value of all of them, or every problem of every part
 * (unlike `Config.all`, which stops at the first).
 */
export const all = <const Parts extends Record<string, Config.Config<unknown>>>(
  parts: Parts
): Config.Config<{ -readonly [K in keyof Parts]: Config.Success<Parts[K]> }> =>
  Config.all(Rec.map(parts, settle)).pipe(
    Config.flatMap((settled) => {
      const [error, ...errors] = Object.values(settled).flatMap((result) =>
        Result.isFailure(result) ? [result.failure] : []
      )
      return error === undefined
        ? Config.succeed(
            Rec.map(settled, Result.getOrThrow) as { -readonly [K in keyof Parts]: Config.Success<Parts[K]> }
          )
        : combine(error, errors)
    })
  )

/**
 * Refuses a decoded part for what `rules` finds wrong with it: rules across several variables, or the stricter
 * rules outside development. The rules only run when the part itself decoded.
 */
export const check =
  <A>(rules: (value: A) => ReadonlyArray<string>) =>
  (self: Config.Config<A>): Config.Config<A> =>
    Config.flatMap(self, (value) => Config.map(verify(rules(value)), () => value))

/** Decodes a part against a provider: its value, or every problem. */
export const decode = <A>(
  config: Config.Config<A>,
  provider: Parameters<Config.Config<A>["parse"]>[0]
): Effect.Effect<A, ReadonlyArray<string>> => Effect.mapError(config.parse(provider), problemsOf)
