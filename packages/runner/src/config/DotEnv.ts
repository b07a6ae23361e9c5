import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"

/**
 * Parses a `.env` file: `KEY=value` lines, `#` comments, optional `export `, single or double quotes (double
 * quotes understand \n). No interpolation: what is written is what is read.
 */
export const parseDotEnv = (text: string): Record<string, string> => {
  const values: Record<string, string> = {}
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim()
    if (line === "" || line.startsWith("#")) continue
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line)
    if (match === null) continue
    const [, key, rest] = match as unknown as [string, string, string]
    let value = rest
    if (value.startsWith('"') && value.lastIndexOf('"') > 0) {
      value = value.slice(1, value.lastIndexOf('"')).replaceAll("\\n", "\n").replaceAll('\\"', '"')
    } else if (value.startsWith("'") && value.lastIndexOf("'") > 0) {
      value = value.slice(1, value.lastIndexOf("'"))
    } else {
      value = value.replace(/\s+#.*$/, "").trim()
    }
    values[key] = value
  }
  return values
}

/** The environment the service configures itself from: `.env` in `directory` when present, real variables winning. */
export const readEnvironment = (
  directory: string,
  processEnv: Readonly<Record<string, string | undefined>>
): Record<string, string> => {
  const file = join(directory, ".env")
  const fromFile = existsSync(file) ? parseDotEnv(readFileSync(file, "utf8")) : {}
  const merged: Record<string, string> = { ...fromFile }
  for (const [key, value] of Object.entries(processEnv)) if (value !== undefined) merged[key] = value
  return merged
}
