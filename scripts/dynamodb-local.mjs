// `npm run dynamodb`: a DynamoDB-compatible server for development, without Docker or Java.
// dynalite (LevelDB) on 127.0.0.1:8000, data kept in ./data/dynalite between runs.
// Then: DYNAMODB_ENDPOINT=http://127.0.0.1:8000 npm start
// Options: DYNALITE_PORT (8000), DYNALITE_PATH (./data/dynalite; "memory" keeps nothing).
import { mkdirSync } from "node:fs"
import { resolve } from "node:path"
import dynalite from "dynalite"

const port = Number(process.env.DYNALITE_PORT ?? 8000)
const path = process.env.DYNALITE_PATH ?? "./data/dynalite"
const inMemory = path === "memory"
if (!inMemory) mkdirSync(path, { recursive: true })

const server = dynalite({ ...(inMemory ? {} : { path: resolve(path) }), createTableMs: 0, deleteTableMs: 0 })
server.on("error", (error) => {
  console.error(`dynalite could not listen on 127.0.0.1:${port}: ${error.message}`)
  process.exit(1)
})
server.listen(port, "127.0.0.1", () => {
  process.stdout.write(
    `dynalite listening on http://127.0.0.1:${port} (${inMemory ? "in memory" : `data in ${resolve(path)}`})\n` +
      `Start the service with: DYNAMODB_ENDPOINT=http://127.0.0.1:${port} npm start\n`
  )
})

const stop = () => server.close(() => process.exit(0))
process.once("SIGINT", stop)
process.once("SIGTERM", stop)
