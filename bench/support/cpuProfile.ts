import { readFileSync } from "node:fs"
import { relative } from "node:path"
import { REPOSITORY } from "./processes.ts"

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const where = (frame: ProfileNode["callFrame"]) => {
  const file = frame.url.startsWith("file://") ? relative(REPOSITORY, new URL(frame.url).pathname) : frame.url
  return `${frame.functionName || "(anonymous)"} ${file}${file === "" ? "" : `:${frame.lineNumber + 1}`}`
}

/**
 * The functions a `--cpu-prof` profile spent its samples in: self time (in the function itself) and total time
 * (with what it called), each as a share of all samples, heaviest first.
 */
export const summarizeProfile = (path: string, top = 25, from?: string) => {
  const profile = JSON.parse(readFileSync(path, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  let all = 0
  // With `from`, only the samples from the first one whose stack holds a frame named so (a load's first request,
  // say): start-up's module loading is left out of a profile of serving.
  const holds = (id: number, name: string) => {
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      if (byId.get(current)!.callFrame.functionName === name) return true
    }
    return false
  }
  const first =
    from === undefined
      ? 0
      : Math.max(
          0,
          profile.samples.findIndex((id) => holds(id, from))
        )
  profile.samples.forEach((id, index) => {
    if (index < first) return
    const micros = profile.timeDeltas[index] ?? 0
    all += micros
    const leaf = byId.get(id)!
    const name = where(leaf.callFrame)
    self.set(name, (self.get(name) ?? 0) + micros)
    const seen = new Set<string>()
    for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
      const frame = where(byId.get(current)!.callFrame)
      if (!seen.has(frame)) {
        seen.add(frame)
        total.set(frame, (total.get(frame) ?? 0) + micros)
      }
    }
  })
  const table = (map: Map<string, number>) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, micros]) => `${((micros / all) * 100).toFixed(1).padStart(5)} %  ${name}`)
      .join("\n")
  return `self time:\n${table(self)}\n\ntotal time:\n${table(total)}`
}
