import { spawn } from 'node:child_process'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { BENCH_DATABASE_URL, median, settleDatabase, type Workload, withBenchContext } from './lib.js'

/**
 * Runs every bench/*.bench.ts workload (or those named on the command line, e.g. `npm run bench -- W5`), each
 * against its limit in the same run on the same database, and writes bench/results/latest.{json,md}.
 */
const dir = import.meta.dirname
const only = process.argv.slice(2).map((arg) => arg.toUpperCase())
const repetitions = Number(process.env.BENCH_REPETITIONS ?? 3)

const files = (await readdir(dir)).filter((file) => file.endsWith('.bench.ts')).sort()
const workloads: Workload[] = []
for (const file of files) {
  const module = (await import(path.join(dir, file))) as { workloads?: Workload[]; workload?: Workload }
  workloads.push(...(module.workloads ?? (module.workload ? [module.workload] : [])))
}

/** Runs one workload in this process and answers its result row. */
async function runWorkload(workload: Workload): Promise<Record<string, unknown>> {
  process.stdout.write(`\n== ${workload.id}: ${workload.title}\n`)
  await settleDatabase()
  const started = Date.now()
  let measurement: Awaited<ReturnType<Workload['run']>>
  try {
    measurement = await withBenchContext((ctx, url) =>
      workload.run({ ctx, url, repetitions, log: (message) => process.stdout.write(`   ${message}\n`) }),
    )
  } catch (error) {
    // one broken workload must not lose the others' figures: it is reported as failed
    process.stdout.write(`   FAILED: ${(error as Error).message.slice(0, 500)}\n`)
    measurement = {
      ours: [Number.NaN],
      limit: [Number.NaN],
      extra: { failed: (error as Error).message.slice(0, 120) },
    }
  }
  const ours = median(measurement.ours)
  const limit = median(measurement.limit)
  const ratio = ours / limit
  const extra = measurement.extra ?? {}
  const meets = workload.meets(ratio, extra)
  const unit = measurement.kind === 'throughput' ? 'req/s' : 'ms'
  const reference = workload.reference ?? 'limit'
  process.stdout.write(
    `   ours ${ours.toFixed(1)} ${unit} (runs ${measurement.ours.map((v) => v.toFixed(0)).join(', ')}), ${reference} ${limit.toFixed(1)} ${unit} (runs ${measurement.limit.map((v) => v.toFixed(0)).join(', ')})\n` +
      `   ratio ${ratio.toFixed(2)} target ${workload.target}: ${meets ? 'MET' : 'MISSED'}\n` +
      Object.entries(extra)
        .map(([key, value]) => `   ${key}: ${typeof value === 'number' ? value.toFixed(1) : value}\n`)
        .join(''),
  )
  return {
    id: workload.id,
    title: workload.title,
    target: workload.target,
    unit,
    ours,
    limit,
    reference,
    ratio: Number(ratio.toFixed(3)),
    meets,
    runs: { ours: measurement.ours, limit: measurement.limit },
    extra,
    seconds: Math.round((Date.now() - started) / 1000),
    at: new Date().toISOString(),
  }
}

/**
 * Each workload runs in a process of its own, so that none is timed in a heap, pools or compiled code that the
 * ones before it left behind. The child prints its log, then its result row after RESULT_MARK.
 */
const RESULT_MARK = '@@bench-result '
const childWorkload = process.env.BENCH_WORKLOAD
if (childWorkload) {
  const workload = workloads.find((w) => w.id === childWorkload)
  if (!workload) throw new Error(`no workload ${childWorkload}`)
  const row = await runWorkload(workload)
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(row)}\n`)
  process.exit(0)
}

async function runInChild(workload: Workload): Promise<Record<string, unknown>> {
  const child = spawn(process.execPath, [...process.execArgv, import.meta.filename], {
    env: { ...process.env, BENCH_WORKLOAD: workload.id },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let row: Record<string, unknown> | undefined
  const lines = createInterface({ input: child.stdout })
  lines.on('line', (line) => {
    if (line.startsWith(RESULT_MARK)) row = JSON.parse(line.slice(RESULT_MARK.length))
    else process.stdout.write(`${line}\n`)
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (row) return row
  process.stdout.write(`   FAILED: the workload's process exited with ${code}\n`)
  const failed = { ours: Number.NaN, limit: Number.NaN, ratio: Number.NaN, meets: false, unit: 'ms' }
  return {
    id: workload.id,
    title: workload.title,
    target: workload.target,
    ...failed,
    extra: { failed: `exit ${code}` },
    seconds: 0,
    at: new Date().toISOString(),
  }
}

const results: Record<string, unknown>[] = []
for (const workload of workloads.filter((w) => only.length === 0 || only.includes(w.id.toUpperCase()))) {
  results.push(await runInChild(workload))
}

const database = new URL(BENCH_DATABASE_URL)
// a run of some workloads replaces their rows and keeps the others' from earlier runs (each row says when)
const latestPath = path.join(dir, 'results', 'latest.json')
const earlier = await readFile(latestPath, 'utf8')
  .then((text) => (JSON.parse(text) as { results?: Record<string, unknown>[] }).results ?? [])
  .catch(() => [])
const ran = new Set(results.map((r) => r.id))
const order = workloads.map((w) => w.id)
const merged = [...earlier.filter((r) => !ran.has(r.id) && order.includes(r.id as string)), ...results].sort(
  (a, b) => order.indexOf(a.id as string) - order.indexOf(b.id as string),
)
const report = {
  at: new Date().toISOString(),
  node: process.version,
  database: `${database.hostname}:${database.port}`,
  repetitions,
  results: merged,
}
await mkdir(path.join(dir, 'results'), { recursive: true })
await writeFile(latestPath, `${JSON.stringify(report, null, 2)}\n`)
const table = [
  '| id | workload | ours (median) | limit (median) | ratio | target | met | notes | measured |',
  '|---|---|---|---|---|---|---|---|---|',
  ...merged.map((r) => {
    const notes = Object.entries(r.extra as Record<string, number | string>)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? v.toFixed(1) : v}`)
      .join('; ')
    // a failed workload's figures are NaN in its process and null once passed on as JSON
    const value = (v: number | null) =>
      typeof v === 'number' && Number.isFinite(v) ? `${v.toFixed(1)} ${r.unit}` : 'n/a'
    // a baseline of our own is no limit: said so in its cell
    const limitCell =
      r.reference === 'baseline'
        ? `baseline ${value(r.limit as number | null)} (ours, not a limit)`
        : value(r.limit as number | null)
    return `| ${r.id} | ${r.title} | ${value(r.ours as number | null)} | ${limitCell} | ${r.ratio ?? 'n/a'} | ${r.target} | ${r.meets ? 'yes' : 'no'} | ${notes} | ${String(r.at ?? report.at).slice(0, 16)} (${r.seconds} s) |`
  }),
]
await writeFile(
  path.join(dir, 'results', 'latest.md'),
  `# Benchmark results\n\n${report.at}, ${report.node}, PostgreSQL at ${report.database}, median of ${repetitions} runs.\n\n${table.join('\n')}\n`,
)
process.stdout.write(`\n${table.join('\n')}\n\nwrote bench/results/latest.json and bench/results/latest.md\n`)

// every run refreshes the README's table from the merged results
{
  const readme = path.join(dir, '..', 'README.md')
  const text = await readFile(readme, 'utf8')
  const block = `<!-- bench:start -->\n${report.node}, PostgreSQL ${report.database}, medians (repetitions per row in its notes or BENCH_REPETITIONS=${repetitions}); last run ${report.at}.\n\n${table.join('\n')}\n<!-- bench:end -->`
  const updated = text.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, () => block)
  if (updated !== text) {
    await writeFile(readme, updated)
    process.stdout.write('updated the README table\n')
  }
}
