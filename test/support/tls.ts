import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { connect } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { createServer, type Server } from "node:tls"

export type Certificate =
  | { readonly available: true; readonly key: string; readonly cert: string }
  | { readonly available: false; readonly reason: string }

/** A throw-away self-signed certificate for 127.0.0.1, made by the `openssl` on PATH (none without it). */
export const selfSignedCertificate = (): Certificate => {
  const directory = mkdtempSync(join(tmpdir(), "bg-ingest-tls-"))
  try {
    const made = spawnSync(
      "openssl",
      [
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-days",
        "2",
        "-keyout",
        join(directory, "key.pem"),
        "-out",
        join(directory, "cert.pem")
      ],
      { encoding: "utf8" }
    )
    if (made.error !== undefined || made.status !== 0) {
      return {
        available: false,
        reason: `openssl could not make a certificate (${made.error?.message ?? made.stderr})`
      }
    }
    return {
      available: true,
      key: readFileSync(join(directory, "key.pem"), "utf8"),
      cert: readFileSync(join(directory, "cert.pem"), "utf8")
    }
  } finally {
    rmSync(directory, { recursive: true, force: true })
  }
}

export interface TlsFront {
  /** `127.0.0.1:<port>`, where TLS is answered. */
  readonly host: string
  readonly close: () => Promise<void>
}

/**
 * TLS in front of a plain loopback server: each connection is decrypted and piped to `targetPort`. For clients that
 * only speak https to a fake that speaks http.
 */
export const startTlsFront = (
  targetPort: number,
  certificate: { readonly key: string; readonly cert: string }
): Promise<TlsFront> =>
  new Promise((resolve, reject) => {
    const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (secure) => {
      const plain = connect(targetPort, "127.0.0.1")
      secure.pipe(plain).pipe(secure)
      const end = () => {
        secure.destroy()
        plain.destroy()
      }
      secure.on("error", end)
      plain.on("error", end)
      secure.on("close", end)
      plain.on("close", end)
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        host: `127.0.0.1:${port}`,
        close: () => new Promise((done) => server.close(() => done()))
      })
    })
  })
