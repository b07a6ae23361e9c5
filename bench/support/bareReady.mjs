// The start-up baseline: a bare node:http process, plain JavaScript (no type stripping), ready at once.
import { createServer } from "node:http"

createServer((_request, response) => {
  response.writeHead(200, { "content-type": "application/json" })
  response.end('{"status":"ready"}')
}).listen(Number(process.argv[2]), "127.0.0.1")
process.on("SIGTERM", () => process.exit(0))
