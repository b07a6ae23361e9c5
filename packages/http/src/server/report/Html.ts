/** Markup that is already safe: the only way text reaches the page unescaped. */
export class Markup {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }
  toString() {
    return this.text
  }
}

export type Interpolated = Markup | string | number | boolean | null | undefined | ReadonlyArray<Interpolated>

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }

/** Escapes text for HTML content and for quoted attribute values alike. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (character) => ESCAPES[character]!)

const render = (value: Interpolated): string => {
  if (value instanceof Markup) return value.text
  if (Array.isArray(value)) return value.map(render).join("")
  if (value === null || value === undefined || value === false) return ""
  return escapeHtml(String(value))
}

/**
 * An HTML (or SVG) template whose every interpolated value is escaped, except `Markup` from other templates:
 * a user id or a zone name can never become markup.
 */
export const html = (strings: TemplateStringsArray, ...values: ReadonlyArray<Interpolated>): Markup =>
  new Markup(
    strings.reduce((out, piece, index) => out + piece + (index < values.length ? render(values[index]!) : ""), "")
  )

/** A coordinate for SVG: at most one decimal, no trailing zeros. */
export const coordinate = (value: number): string => String(Math.round(value * 10) / 10)

/** A figure already rounded by the domain, shown with exactly `decimals` decimals. */
export const figure = (value: number, decimals = 1): string => value.toFixed(decimals)
