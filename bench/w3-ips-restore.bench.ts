import { spawn, spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import Fastify from 'fastify'
import pg from 'pg'
import { trashedFiles } from './datasets.js'
import { benchUser, IPS_PATH, ipsRestoreEnvelope, runLoad, startBenchServer, type Workload } from './lib.js'

const SECONDS = Number(process.env.BENCH_W3_SECONDS ?? 30)
const CONNECTIONS = 50
const POOL = Number(process.env.BENCH_W3_POOL ?? 100_000)
// three 30-second loads a repetition: one repetition unless asked (the whole run must stay under 15 minutes)
const REPETITIONS = Number(process.env.BENCH_W3_REPETITIONS ?? 1)
const hasPgbench = spawnSync('pgbench', ['--version']).status === 0

interface Statement {
  text: string
  values: unknown[]
}

/** The statements one request sends, recorded at the pg client (transaction control included). */
async function recordStatements<T>(fn: () => Promise<T>): Promise<Statement[]> {
  const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
  const query = prototype.query
  const recorded: Statement[] = []
  prototype.query = function (this: unknown, ...args: unknown[]) {
    const [first, second] = args as [string | { text: string; values?: unknown[] }, unknown]
    const text = typeof first === 'string' ? first : first.text
    const values = Array.isArray(second) ? second : typeof first === 'string' ? [] : (first.values ?? [])
    recorded.push({ text, values })
    return query.apply(this, args)
  }
  try {
    await fn()
  } finally {
    prototype.query = query
  }
  return recorded
}

const quote = (value: string) => `'${value.replaceAll("'", "''")}'`

/** A bound value as an SQL literal; the restored item's id becomes pgbench's :id. */
function literal(value: unknown, id: number): string {
  if (value === null || value === undefined) return 'NULL'
  if (typeof value === 'number') return value === id ? ':id' : String(value)
  if (typeof value === 'bigint' || typeof value === 'boolean') return String(value)
  if (value instanceof Date) return quote(value.toISOString())
  if (Array.isArray(value))
    return value.length === 0 ? "'{}'" : `ARRAY[${value.map((v) => literal(v, id)).join(', ')}]`
  if (typeof value === 'object') return quote(JSON.stringify(value))
  return quote(String(value))
}

/** A pgbench script running the recorded statements, each on one line, for a random item of the pool. */
function pgbenchScript(statements: Statement[], id: number, pool: { first: number; last: number }): string {
  const lines = statements.map(({ text, values }) => {
    // comments go before the statement is put on one line, or they would swallow the rest of it
    const sql = text
      .replace(/--[^\n]*/g, '')
      .replace(/\$(\d+)/g, (_, n: string) => literal(values[Number(n) - 1], id))
    return `${sql.replace(/\s+/g, ' ').trim().replace(/;$/, '')};`
  })
  return `\\set id random(${pool.first}, ${pool.last})\n${lines.join('\n')}\n`
}

function runPgbench(url: string, script: string, seconds: number): Promise<{ tps: number; failed: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'pgbench',
      ['-n', '-M', 'simple', '-c', String(CONNECTIONS), '-j', '2', '-T', String(seconds), '-f', script, url],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let out = ''
    child.stdout.on('data', (chunk) => {
      out += chunk
    })
    child.stderr.on('data', (chunk) => {
      out += chunk
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 60) * 1000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]
      const failed = Number(/number of failed transactions: (\d+)/.exec(out)?.[1] ?? 0)
      if (code !== 0 || !tps) reject(new Error(`pgbench exited with ${code}: ${out.slice(-800)}`))
      else resolve({ tps: Number(tps), failed })
    })
  })
}

/**
 * W3: IPS restoreAssetsFromTrash with one handle per request over keep-alive HTTP, 50 connections, each request
 * a different trashed item. Database limit: the same SQL statements (recorded from one request of ours) run by
 * pgbench with 50 clients. HTTP limit: a bare fastify route answering the same reply bytes.
 */
export const workload: Workload = {
  id: 'W3',
  title: `IPS restoreAssetsFromTrash, 1 handle, keep-alive, ${CONNECTIONS} connections, ${SECONDS} s`,
  target: '≥ 0.5 of the database limit (throughput)',
  meets: (ratio) => ratio >= 0.5,
  async run({ ctx, url, repetitions, log }) {
    if (!hasPgbench)
      log('pgbench is not installed: the database limit is skipped (apt-get install postgresql-contrib)')
    const server = await startBenchServer(ctx)
    const bare = Fastify()
    try {
      const tenantId = await ctx.admin.createTenant('w3')
      const user = await benchUser(ctx, tenantId, 'w3-restorer')
      const oursPool = await trashedFiles(ctx.db, {
        tenantId,
        userId: user.userId,
        count: POOL,
        prefix: 'ours',
      })
      const benchPool = await trashedFiles(ctx.db, {
        tenantId,
        userId: user.userId,
        count: POOL,
        prefix: 'pgbench',
      })
      await ctx.db.query('analyze items')
      const post = (id: number) =>
        fetch(`${server.baseUrl}${IPS_PATH}`, {
          method: 'POST',
          headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"restoreAssetsFromTrash"' },
          body: ipsRestoreEnvelope(user, tenantId, [id]),
        }).then((reply) => reply.text())
      // the first request verifies the password; steady state is the cached one recorded next
      const fixedReply = await post(oursPool.first)
      const sample = oursPool.first + 1
      const statements = await recordStatements(() => post(sample))
      let nextOurs = sample + 1

      bare.post(IPS_PATH, (_request, reply) => reply.type('text/xml; charset=utf-8').send(fixedReply))
      bare.addContentTypeParser('text/xml', { parseAs: 'buffer' }, (_request, body, done) => done(null, body))
      const bareUrl = await bare.listen({ port: 0, host: '127.0.0.1' })

      const dir = await mkdtemp(path.join(tmpdir(), 'trashd-w3-'))
      const script = path.join(dir, 'restore.sql')
      await writeFile(script, pgbenchScript(statements, sample, benchPool))

      const ours: number[] = []
      const limit: number[] = []
      const http: number[] = []
      try {
        for (let run = 0; run < Math.min(REPETITIONS, repetitions); run++) {
          const ids = { first: nextOurs, last: Math.min(oursPool.last, nextOurs + 200_000) }
          const a = await runLoad({
            url: `${server.baseUrl}${IPS_PATH}`,
            body: ipsRestoreEnvelope(user, tenantId, ['{ID}']),
            ids,
            connections: CONNECTIONS,
            seconds: SECONDS,
            headers: { soapaction: '"restoreAssetsFromTrash"' },
          })
          const restored = await ctx.db.query<{ n: number }>(
            "select count(*)::int as n from items where tenant_id = $1 and id between $2 and $3 and state = 'active'",
            [tenantId, ids.first, ids.last],
          )
          nextOurs = ids.first + a.total
          if (a.non2xx + a.errors > 0) throw new Error(`${a.non2xx + a.errors} failed restores`)
          ours.push(a.rps)
          let line = `run ${run + 1}: ours ${a.rps.toFixed(0)} req/s (p50 ${a.p50} ms, p99 ${a.p99} ms, ${restored.rows[0]!.n} restored)`
          if (hasPgbench) {
            const b = await runPgbench(url, script, SECONDS)
            limit.push(b.tps)
            line += `, pgbench ${b.tps.toFixed(0)} tps (${b.failed} failed)`
          }
          const c = await runLoad({
            url: `${bareUrl}${IPS_PATH}`,
            body: ipsRestoreEnvelope(user, tenantId, [sample]),
            connections: CONNECTIONS,
            seconds: SECONDS,
          })
          http.push(c.rps)
          log(`${line}, bare fastify ${c.rps.toFixed(0)} req/s`)
        }
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
      const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!
      return {
        ours,
        // without pgbench there is no database limit: the HTTP limit stands in, and the note says so
        limit: hasPgbench ? limit : http,
        kind: 'throughput',
        extra: {
          'statements per request': statements.length,
          'HTTP limit req/s': median(http),
          'HTTP ratio': (median(ours) / median(http)).toFixed(3),
          ...(hasPgbench ? {} : { 'database limit': 'skipped, pgbench not installed' }),
        },
      }
    } finally {
      await bare.close()
      await server.close()
    }
  },
}
