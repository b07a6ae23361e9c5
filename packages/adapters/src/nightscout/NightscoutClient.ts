import {
  CredentialsRejected,
  InvalidProviderResponse,
  NeedsReauthorization,
  type ProviderId,
  ProviderUnavailable,
  RateLimited,
  SiteRefused
} from "@bg-ingest/domain"
import { Clock, Duration, Effect, Option, Result, Schema } from "effect"
import { Headers } from "effect/http"
import type { NightscoutSettings } from "./NightscoutSettings.ts"
import { type SiteAnswer, type SiteRequestFailed, siteGet } from "./SiteHttp.ts"

/** A connected site: its base URL (path kept, no trailing slash, no query) and one credential. */
export interface NightscoutSite {
  readonly baseUrl: string
  /** A read token, sent as `?token=`. */
  readonly token?: string | undefined
  /** The SHA-1 hex of the API secret, sent as `api-secret`: what clients send, so the secret itself is not kept. */
  readonly secretSha1?: string | undefined
}

const VerifyAuth = Schema.Struct({
  message: Schema.Struct({ canRead: Schema.optional(Schema.Boolean), message: Schema.optional(Schema.String) })
})
const decodeVerifyAuth = Schema.decodeUnknownOption(Schema.fromJsonString(VerifyAuth))
const decodeEntries = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Array(Schema.Unknown)))

/** The site's base URL as the user gave it: path kept, trailing slashes, query and fragment dropped. */
export const siteBaseUrl = (url: string): string => {
  const parsed = new URL(url)
  parsed.search = ""
  parsed.hash = ""
  return parsed.toString().replace(/\/+$/, "")
}

export const makeNightscoutClient = (provider: ProviderId, settings: NightscoutSettings) => {
  const url = (site: NightscoutSite, path: string, query: Readonly<Record<string, string>>) => {
    const target = new URL(`${site.baseUrl}/${path}`)
    for (const [name, value] of Object.entries(query)) target.searchParams.set(name, value)
    if (site.token !== undefined) target.searchParams.set("token", site.token)
    return target
  }

  const headersOf = (site: NightscoutSite): Record<string, string> => ({
    accept: "application/json",
    "user-agent": "bg-ingest",
    ...(site.secretSha1 === undefined ? {} : { "api-secret": site.secretSha1 })
  })

  /** What went wrong with a request, before it is told as the error of a connect or of a poll. */
  type Trouble =
    | { readonly _tag: "refusedAddress"; readonly reason: "scheme" | "address"; readonly message: string }
    | { readonly _tag: "unresolved"; readonly message: string }
    | { readonly _tag: "redirect"; readonly where: string }
    | { readonly _tag: "unauthorized"; readonly status: number }
    | { readonly _tag: "rateLimited"; readonly after: Duration.Duration }
    | { readonly _tag: "unavailable"; readonly message: string }
    | { readonly _tag: "unexpected"; readonly status: number }
    | { readonly _tag: "invalid"; readonly message: string }

  const troubleOfFailure = (failure: SiteRequestFailed): Trouble => {
    switch (failure.reason) {
      case "scheme":
      case "address":
        return { _tag: "refusedAddress", reason: failure.reason, message: failure.message }
      case "unresolved":
        return { _tag: "unresolved", message: failure.message }
      case "too_large":
        return { _tag: "invalid", message: failure.message }
      case "transport":
      case "timeout":
        return { _tag: "unavailable", message: failure.message }
    }
  }

  const retryAfter = Effect.fnUntraced(function* (answer: SiteAnswer) {
    const header = answer.headers["retry-after"]
    const parsed = typeof header === "string" ? Headers.parseRetryAfter(header) : Result.fail(undefined)
    if (Result.isFailure(parsed)) return settings.rateLimitBackoff
    return Duration.max(Headers.retryAfterDelay(parsed.success, yield* Clock.currentTimeMillis), Duration.seconds(1))
  })

  /** What an answer other than 200 means. */
  const troubleOfAnswer = Effect.fnUntraced(function* (answer: SiteAnswer): Effect.fn.Return<Trouble> {
    const { status } = answer
    if (status >= 300 && status < 400) {
      const location = typeof answer.headers.location === "string" ? URL.parse(answer.headers.location, "x:/") : null
      return {
        _tag: "redirect",
        where: location === null || location.protocol === "x:" ? "another path" : location.origin
      }
    }
    if (status === 401 || status === 403) return { _tag: "unauthorized", status }
    if (status === 429) return { _tag: "rateLimited", after: yield* retryAfter(answer) }
    if (status >= 500 || status === 408) return { _tag: "unavailable", message: `The site answered HTTP ${status}` }
    return { _tag: "unexpected", status }
  })

  /** A trouble while connecting: the user is told what to fix, and nothing is stored. */
  const connectError = (trouble: Trouble) => {
    switch (trouble._tag) {
      case "refusedAddress":
        return new SiteRefused({ provider, reason: trouble.reason, message: trouble.message })
      case "unresolved":
        return new SiteRefused({ provider, reason: "not_a_site", message: trouble.message })
      case "redirect":
        return new SiteRefused({
          provider,
          reason: "redirect",
          message: `The site redirects to ${trouble.where}, which is not followed: give the address it redirects to`
        })
      case "unauthorized":
        return new CredentialsRejected({
          provider,
          reason: "invalid_credentials",
          message: `The site refused the credential (HTTP ${trouble.status})`
        })
      case "rateLimited":
        return new RateLimited({ provider, retryAfter: trouble.after, message: "The site asked to slow down" })
      case "unavailable":
        return new ProviderUnavailable({ provider, message: trouble.message })
      case "unexpected":
        return new SiteRefused({
          provider,
          reason: "not_a_site",
          message: `No Nightscout answers there (HTTP ${trouble.status})`
        })
      case "invalid":
        return new InvalidProviderResponse({ provider, message: trouble.message })
    }
  }

  /** A trouble while polling: what needs the user stops the polling; what may pass is retried with backoff. */
  const pollError = (trouble: Trouble) => {
    switch (trouble._tag) {
      case "refusedAddress":
        return new NeedsReauthorization({ provider, message: `${trouble.message}: connect the site again` })
      case "redirect":
        return new NeedsReauthorization({
          provider,
          message: `The site now redirects to ${trouble.where}: connect it again with its address`
        })
      case "unauthorized":
        return new NeedsReauthorization({
          provider,
          message: `The site refused the credential (HTTP ${trouble.status}): it was changed or revoked; connect again`
        })
      case "rateLimited":
        return new RateLimited({ provider, retryAfter: trouble.after, message: "The site asked to slow down" })
      case "unresolved":
      case "unavailable":
        return new ProviderUnavailable({ provider, message: trouble.message })
      case "unexpected":
        // A sleeping or misconfigured host answers 404 for a while: worth retrying with backoff.
        return trouble.status === 404
          ? new ProviderUnavailable({ provider, message: "The site answered HTTP 404" })
          : new InvalidProviderResponse({ provider, message: `The site answered HTTP ${trouble.status}` })
      case "invalid":
        return new InvalidProviderResponse({ provider, message: trouble.message })
    }
  }

  const get = (site: NightscoutSite, path: string, query: Readonly<Record<string, string>>) =>
    siteGet(url(site, path, query), headersOf(site), {
      policy: settings.policy,
      resolve: settings.resolve,
      timeout: settings.requestTimeout,
      maxBodyBytes: settings.maxAnswerBytes
    }).pipe(Effect.mapError(troubleOfFailure))

  /** The 200 answer of a GET, or its trouble. */
  const ok = (site: NightscoutSite, path: string, query: Readonly<Record<string, string>>) =>
    Effect.flatMap(get(site, path, query), (answer) =>
      answer.status === 200 ? Effect.succeed(answer) : Effect.flatMap(troubleOfAnswer(answer), Effect.fail)
    )

  const notNightscout = new SiteRefused({
    provider,
    reason: "not_a_site",
    message: "What answers there is not Nightscout's API v1 (check the address)"
  })

  /**
   * One call that tells whether the site is a Nightscout the credential can read: `verifyauth` (`canRead`), or on a
   * site too old to have it, one entries read.
   */
  const verify = Effect.fn("NightscoutClient.verify")(function* (site: NightscoutSite) {
    const answer = yield* get(site, "api/v1/verifyauth", {}).pipe(Effect.mapError(connectError))
    if (answer.status === 200) {
      const verified = decodeVerifyAuth(answer.body)
      if (Option.isNone(verified)) return yield* notNightscout
      // On a site anyone may read, a wrong credential still reads (the default roles) but says `UNAUTHORIZED`;
      // the data routes would then refuse it.
      const { canRead, message } = verified.value.message
      if (canRead === true && (message === undefined || message === "OK")) return
      return yield* new CredentialsRejected({
        provider,
        reason: "invalid_credentials",
        message: "The site does not let this credential read"
      })
    }
    if (answer.status !== 404) return yield* connectError(yield* troubleOfAnswer(answer))
    const entries = yield* ok(site, "api/v1/entries/sgv.json", { count: "1" }).pipe(Effect.mapError(connectError))
    if (Option.isNone(decodeEntries(entries.body))) return yield* notNightscout
  })

  /** SGV entries with `fromMillis <= date < toMillis`, newest first, at most `count`; and the answer's size. */
  const entries = Effect.fn("NightscoutClient.entries")(function* (
    site: NightscoutSite,
    fromMillis: number,
    toMillis: number,
    count: number
  ) {
    const answer = yield* ok(site, "api/v1/entries/sgv.json", {
      "find[date][$gte]": String(fromMillis),
      "find[date][$lt]": String(toMillis),
      count: String(count)
    }).pipe(Effect.mapError(pollError))
    const entries = yield* Option.match(decodeEntries(answer.body), {
      onNone: () =>
        Effect.fail(new InvalidProviderResponse({ provider, message: "The site's entries are not a JSON list" })),
      onSome: Effect.succeed
    })
    return { entries, bytes: answer.bytes }
  })

  return { verify, entries }
}
