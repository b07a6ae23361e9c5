/**
 * The DynamoDB and RabbitMQ adapter benchmarks (bench/dynamodb.ts, bench/rabbitmq.ts) as rows of the suite's
 * table: each runs in its own process, as `npm run bench:dynamodb` / `bench:rabbitmq` do, and its figures are read
 * from what it prints.
 */
import { execFile } from "node:child_process"
import { atLeast, type Row } from "./support/report.ts"

const runScript = (script: string, args: ReadonlyArray<string> = []) =>
  new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      ["--conditions=@bg-ingest/source", new URL(script, import.meta.url).pathname, ...args],
      { maxBuffer: 16 * 1024 * 1024, timeout: 10 * 60_000 },
      (error, stdout, stderr) => resolve(error === null ? stdout : `${stdout}\n${stderr}\n${error.message}`)
    )
  })

const skipped = (benchmark: string, target: string, why: string): Row => ({
  benchmark,
  figure: "—",
  baseline: "—",
  ratio: "—",
  target,
  verdict: "skip",
  note: why
})

/** putMany ≥ 0.8× a bare SDK loop of the same conditional writes; a 90-day range ≥ 0.9× a bare paginated Query. */
export const dynamodbBenchmark = async (): Promise<ReadonlyArray<Row>> => {
  const output = await runScript("./dynamodb.ts")
  const rows: Array<Row> = []
  for (const line of output.split("\n")) {
    const cells = line.split("|").map((cell) => cell.trim())
    const [, server, figure, adapter, baseline, ratio] = cells
    if (server === undefined || figure === undefined || ratio === undefined || !ratio.endsWith("×")) continue
    const isWrite = figure.startsWith("putMany")
    const target = isWrite ? 0.8 : 0.9
    rows.push({
      benchmark: `DynamoDB (${server}): ${figure}`,
      figure: adapter ?? "",
      baseline: `${baseline} (bare SDK ${isWrite ? "conditional writes" : "Query"})`,
      ratio,
      target: `≥ ${target.toFixed(2)}×`,
      verdict: atLeast(Number.parseFloat(ratio), target),
      ...(isWrite
        ? {
            note: `DynamoDB (${server}): both write conditionally, as the adapter does for new readings — groups of 100, the first read first, 4 groups in flight, a transaction per group where the server has them, else conditional puts 32 at once; the adapter also decides each outcome (exact inserted/updated counts with concurrent writers)`
          }
        : {})
    })
  }
  return rows.length > 0
    ? rows
    : [skipped("DynamoDB adapter", "≥ 0.80×", output.trim().split("\n").at(-1) ?? "no output")]
}

/** Events/s through the publisher with confirms ≥ 0.8× a bare amqplib confirm channel, per batch size. */
export const rabbitmqBenchmark = async (): Promise<ReadonlyArray<Row>> => {
  const output = await runScript("./rabbitmq.ts")
  const rows: Array<Row> = []
  for (const line of output.split("\n")) {
    const match = /^(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)x/.exec(line.trim())
    if (match === null) continue
    const [, batch, adapter, bare, ratio] = match as unknown as [string, string, string, string, string]
    rows.push({
      benchmark: `RabbitMQ publish with confirms, batches of ${batch}`,
      figure: `${Number(adapter).toLocaleString("en-US")} events/s`,
      baseline: `${Number(bare).toLocaleString("en-US")} events/s (bare amqplib)`,
      ratio: `${ratio}×`,
      target: "≥ 0.80×",
      verdict: atLeast(Number(ratio), 0.8)
    })
  }
  return rows.length > 0
    ? rows
    : [skipped("RabbitMQ publisher", "≥ 0.80×", output.trim().split("\n").at(-1) ?? "no output")]
}
