import { readFileSync } from "node:fs"
import { join } from "node:path"

export const REPOSITORY = new URL("../../../", import.meta.url).pathname
export const SOURCE_CONDITION = "@bg-ingest/source"

export interface WorkspacePackage {
  readonly directory: string
  readonly manifest: any
}

export const readManifest = (directory: string): any =>
  JSON.parse(readFileSync(join(directory, "package.json"), "utf8"))

export const workspacePackages = (): Array<WorkspacePackage> =>
  (readManifest(REPOSITORY).workspaces as Array<string>).map((workspace) => {
    const directory = join(REPOSITORY, workspace)
    return { directory, manifest: readManifest(directory) }
  })

/** The packages published to npm: every workspace that is not private. */
export const publishablePackages = (): Array<WorkspacePackage> =>
  workspacePackages().filter((pkg) => pkg.manifest.private !== true)
