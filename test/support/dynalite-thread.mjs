// dynalite on a worker thread of the test process: in-process, but with an event loop of its own, so the
// server's work does not queue behind the SDK client's on one thread.
import { parentPort } from "node:worker_threads"
import dynalite from "dynalite"

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  parentPort?.postMessage({ port: typeof address === "object" && address !== null ? address.port : 0 })
})
parentPort?.on("message", (message) => {
  if (message === "stop") server.close(() => parentPort?.postMessage({ stopped: true }))
})
