/**
 * The whole benchmark suite (`npm run bench`): every benchmark in turn, one table, appended to bench/RESULTS.md
 * with the machine and the date. Name benchmarks to run only those (`npm run bench -- http ingest`); pass
 * `--no-record` to leave RESULTS.md alone. Benchmarks are never tests: this always exits 0.
 *
 *   node --conditions=@bg-ingest/source bench/run.ts [http] [ingest] [webhook] [scheduler] [startup] [summary]
 *     [dynamodb] [rabbitmq] [--no-record]
 */
import { dynamodbBenchmark, rabbitmqBenchmark } from "./adapters.ts"
import { httpBenchmark } from "./http.ts"
import { ingestBenchmark } from "./ingest.ts"
import { schedulerBenchmark } from "./scheduler.ts"
import { startupBenchmark } from "./startup.ts"
import { summaryBenchmark } from "./summary.ts"
import { runBenchmarks } from "./support/main.ts"
import { webhookBenchmark } from "./webhook.ts"

const all = [
  { name: "http", run: httpBenchmark },
  { name: "ingest", run: ingestBenchmark },
  { name: "webhook", run: webhookBenchmark },
  { name: "scheduler", run: schedulerBenchmark },
  { name: "startup", run: startupBenchmark },
  { name: "summary", run: summaryBenchmark },
  { name: "dynamodb", run: dynamodbBenchmark },
  { name: "rabbitmq", run: rabbitmqBenchmark }
]

const named = process.argv.slice(2).filter((argument) => !argument.startsWith("--"))
const unknown = named.filter((name) => !all.some((benchmark) => benchmark.name === name))
if (unknown.length > 0) {
  console.error(`Unknown benchmark ${unknown.join(", ")}; the benchmarks are ${all.map((b) => b.name).join(", ")}`)
  process.exit(2)
}
const chosen = named.length === 0 ? all : all.filter((benchmark) => named.includes(benchmark.name))

await runBenchmarks(named.length === 0 ? "Full suite" : `Benchmarks: ${named.join(", ")}`, chosen, {
  record: !process.argv.includes("--no-record")
})
