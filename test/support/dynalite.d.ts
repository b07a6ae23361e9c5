declare module "dynalite" {
  import type { Server } from "node:http"

  interface DynaliteOptions {
    readonly path?: string
    readonly createTableMs?: number
    readonly deleteTableMs?: number
    readonly updateTableMs?: number
    readonly maxItemSizeKb?: number
  }

  /** An HTTP server speaking the DynamoDB API (LevelDB on disk with `path`, memory otherwise). */
  export default function dynalite(options?: DynaliteOptions): Server
}
