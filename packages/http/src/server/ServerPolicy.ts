import { Context } from "effect"

/** How the server treats browsers and clients, by deployment (the runner derives it from `APP_ENV`). */
export class ServerPolicy extends Context.Service<
  ServerPolicy,
  {
    /**
     * Cookies carry `Secure`: everywhere but development, which is served over plain http on loopback (a
     * browser would not send a Secure cookie back there).
     */
    readonly secureCookies: boolean
  }
>()("@bg-ingest/http/server/ServerPolicy") {}
