import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import pino from 'pino'
import { loadConfig } from '../src/config.js'
import { type AppContext, createContext } from '../src/context.js'
import type { Actor } from '../src/core/types.js'
import { connectPostgres, type Database } from '../src/db/database.js'
import { buildApp } from '../src/http/app.js'
import { trashedFiles } from './datasets.js'
import type { ProbeOptions, ProbeResult } from './probe-driver.js'

export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres'

export interface Measurement {
  /** wall times in milliseconds of our path, one per repetition */
  ours: number[]
  /** wall times of the limit measured in the same run (or of the workload's baseline: see Workload.reference) */
  limit: number[]
  /** ratio direction: 'time' (ours ÷ limit, lower is better) or 'throughput' (ours ÷ limit, higher is better) */
  kind?: 'time' | 'throughput'
  /** extra figures to report (peak RSS growth, latency percentiles, …) */
  extra?: Record<string, number | string>
}

export interface Workload {
  id: string
  title: string
  /** the target as the issue states it, e.g. '≤ 2.0' or '≥ 0.5' */
  target: string
  /** whether the measured ratio meets the target */
  meets(ratio: number, extra: Record<string, number | string>): boolean
  /**
   * What `limit` holds: a limit (the default; never our own code), or a baseline of our own, for a workload whose
   * target is absolute (W8): the table says "baseline" then, and its ratio only tells what the workload adds.
   */
  reference?: 'limit' | 'baseline'
  run(bench: BenchEnv): Promise<Measurement>
}

export interface BenchEnv {
  ctx: BenchContext
  /** a fresh database for this workload */
  url: string
  repetitions: number
  log(message: string): void
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = process.hrtime.bigint()
  const value = await fn()
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, value }
}

/** Samples RSS while fn runs; returns the peak growth over the RSS at the start, in MB. */
export async function peakRssGrowth<T>(fn: () => Promise<T>): Promise<{ mb: number; value: T }> {
  global.gc?.()
  const start = process.memoryUsage().rss
  let peak = start
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 20)
  try {
    const value = await fn()
    peak = Math.max(peak, process.memoryUsage().rss)
    return { mb: (peak - start) / 1024 / 1024, value }
  } finally {
    clearInterval(timer)
  }
}

/**
 * Waits until the database server is quiet: the last workload's writes checkpointed and no autovacuum worker
 * running (at most `seconds`), so that a workload is not timed against the background work of the one before.
 */
export async function settleDatabase(seconds = 60): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL })
  await client.connect()
  try {
    await client.query('checkpoint').catch(() => {})
    const deadline = Date.now() + seconds * 1000
    while (Date.now() < deadline) {
      const busy = await client.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where backend_type = 'autovacuum worker'",
      )
      if (busy.rows[0]!.n === 0) return
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  } finally {
    await client.end()
  }
}

/** A fresh, migrated database with its own data directory and context; dropped afterwards. */
/** A context with the workload's own database handle, for its SQL set-up and checks. */
export type BenchContext = AppContext & { readonly db: Database }

export async function withBenchContext<T>(fn: (ctx: BenchContext, url: string) => Promise<T>): Promise<T> {
  const name = `trashd_bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: BENCH_DATABASE_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(BENCH_DATABASE_URL)
  url.pathname = `/${name}`
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-bench-'))
  const db = connectPostgres(url.toString(), { max: 20 })
  const config = loadConfig({
    DATA_DIR: dataDir,
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    LOG_LEVEL: 'silent',
    CLEANUP_SCHEDULE: 'off',
    // no workload times password hashing: users are set up with cheap hashes
    PASSWORD_HASH_COST: '10',
  })
  const created = await createContext(config, {
    db,
    logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }),
  })
  const ctx = Object.defineProperty(created, 'db', { value: db, enumerable: false }) as BenchContext
  try {
    return await fn(ctx, url.toString())
  } finally {
    await ctx.close()
    await rm(dataDir, { recursive: true, force: true })
    const cleanup = new pg.Client({ connectionString: BENCH_DATABASE_URL })
    await cleanup.connect()
    await cleanup.query(`drop database if exists ${name} with (force)`)
    await cleanup.end()
  }
}

/** A tenant with one admin actor, for workloads. */
export async function benchTenant(
  ctx: AppContext,
  name: string,
): Promise<{ tenantId: number; admin: Actor }> {
  const tenantId = await ctx.admin.createTenant(name)
  const login = `${name}-admin-${randomBytes(3).toString('hex')}`
  await ctx.admin.createUser(tenantId, { login, password: 'bench-password', admin: true })
  const admin = (await ctx.auth.authenticate(login, 'bench-password', 'rest'))!
  return { tenantId, admin }
}

/** The app as `trashd start` builds it, listening on a loopback port. */
export async function startBenchServer(
  ctx: AppContext,
): Promise<{ baseUrl: string; close(): Promise<void> }> {
  const app = await buildApp(ctx)
  const baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
  return { baseUrl, close: () => app.close() }
}

/** A user of the tenant with a known password (IPS and srv.asmx log in with it). */
export async function benchUser(ctx: AppContext, tenantId: number, name: string, admin = true) {
  const login = `${name}-${randomBytes(3).toString('hex')}`
  const password = 'bench-password'
  await ctx.admin.createUser(tenantId, { login, password, admin })
  const actor = (await ctx.auth.authenticate(login, password, 'rest'))!
  return { login, password, actor, userId: actor.userId }
}

/** A srv.asmx ticket, as a client gets it (AuthenticateUser over GET). */
export async function asmxTicket(
  baseUrl: string,
  user: { login: string; password: string },
): Promise<string> {
  const query = new URLSearchParams({ UID: user.login, PWD: user.password })
  const text = await (await fetch(`${baseUrl}/srv.asmx/AuthenticateUser?${query}`)).text()
  const ticket = /ticket="([^"]+)"/.exec(text)?.[1]
  if (!ticket) throw new Error(`no ticket in ${text.slice(0, 200)}`)
  return ticket
}

export const IPS_PATH = '/scene7/services/IpsApiService'
const IPS_NS = 'http://www.scene7.com/IpsApi/xsd'

/** A SOAP 1.1 IPS restoreAssetsFromTrash request as a client sends it. */
export function ipsRestoreEnvelope(
  user: { login: string; password: string },
  tenantId: number,
  ids: (number | string)[],
) {
  return (
    `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
    `<soapenv:Header><authHeader xmlns="${IPS_NS}"><user>${user.login}</user><password>${user.password}</password>` +
    '<appName>trashd-bench</appName><appVersion>1.0</appVersion></authHeader></soapenv:Header>' +
    `<soapenv:Body><restoreAssetsFromTrashParam xmlns="${IPS_NS}/2014-04-03"><companyHandle>c|${tenantId}</companyHandle>` +
    `<assetHandleArray>${ids.map((id) => `<items>a|${id}</items>`).join('')}</assetHandleArray>` +
    '</restoreAssetsFromTrashParam></soapenv:Body></soapenv:Envelope>'
  )
}

export interface LatencyProbe {
  /** resolves once the first WARM_UP restores are done (not counted): start the workload then */
  ready: Promise<void>
  /** `used`: ids restored, warm-up included */
  stop(): Promise<{ p50: number; p99: number; count: number; failures: number; used: number }>
}

/** Restores made before a probe's measurement starts, so that it times the door, not its first compilation. */
const WARM_UP = 5

/**
 * Restores single items of another user's bin through the IPS door, one after the other, while a workload
 * runs; bounded by the ids given and by `maxSeconds`. Each restore is checked to have succeeded. The first few
 * warm the path up and are not counted: await `ready` before starting the workload.
 */
export function restoreProbe(
  baseUrl: string,
  user: { login: string; password: string },
  tenantId: number,
  ids: number[],
  maxSeconds = 600,
): LatencyProbe {
  const latencies: number[] = []
  let failures = 0
  let used = 0
  let stopped = false
  const deadline = Date.now() + maxSeconds * 1000
  let warmed: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    warmed = resolve
  })
  const loop = (async () => {
    for (const [index, id] of ids.entries()) {
      if (index === WARM_UP) {
        warmed()
        latencies.length = 0
        failures = 0
      }
      if (stopped || Date.now() > deadline) break
      used++
      const start = process.hrtime.bigint()
      const response = await fetch(`${baseUrl}${IPS_PATH}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"restoreAssetsFromTrash"' },
        body: ipsRestoreEnvelope(user, tenantId, [id]),
      })
      const text = await response.text()
      latencies.push(Number(process.hrtime.bigint() - start) / 1e6)
      if (response.status !== 200 || !text.includes('<successCount>1</successCount>')) failures++
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    warmed()
  })()
  return {
    ready,
    async stop() {
      stopped = true
      await loop
      return {
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        count: latencies.length,
        failures,
        used,
      }
    },
  }
}

/** A restore probe's figures, with its slow restores (over `slowMs`) and when each started. */
export interface ProcessProbeResult {
  p50: number
  p99: number
  max: number
  count: number
  failures: number
  /** the first failed answer */
  sample?: string
  used: number
  /** restores slower than `slowMs`: when each started (ms since the epoch) and how long it took */
  slow: { at: number; ms: number }[]
}

/**
 * restoreProbe from a child process (bench/probe-driver.ts): the probe's requests and their timing do not share
 * the event loop of the process that runs the server (and, there, a job's runner), so a slow answer is the
 * server's, not the probe's own wait for its turn.
 */
export function restoreProbeProcess(
  baseUrl: string,
  user: { login: string; password: string },
  tenantId: number,
  ids: number[],
  { maxSeconds = 600, slowMs = 100 } = {},
): Omit<LatencyProbe, 'stop'> & { stop(): Promise<ProcessProbeResult> } {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'probe-driver.ts')],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  )
  const options: ProbeOptions = { baseUrl, user, tenantId, ids, maxSeconds, warmUp: WARM_UP, pauseMs: 10 }
  child.stdin.write(`${JSON.stringify(options)}\n`)
  const kill = setTimeout(() => child.kill('SIGKILL'), (maxSeconds + 120) * 1000)
  let output = ''
  let signalReady: () => void = () => {}
  const ready = new Promise<void>((resolve) => {
    signalReady = resolve
  })
  child.stdout.on('data', (chunk) => {
    output += chunk
    if (output.startsWith('ready\n')) signalReady()
  })
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve))
  void closed.then(() => signalReady())
  return {
    ready,
    async stop() {
      child.stdin.end('stop\n')
      const code = await closed
      clearTimeout(kill)
      const text = output.replace(/^ready\n/, '')
      if (code !== 0) throw new Error(`restore probe exited with ${code}: ${text.slice(0, 500)}`)
      const probed = JSON.parse(text) as ProbeResult
      const slow = probed.latencies.flatMap((ms, i) =>
        ms > slowMs ? [{ at: probed.startedAt[i]!, ms }] : [],
      )
      return {
        p50: percentile(probed.latencies, 50),
        p99: percentile(probed.latencies, 99),
        max: Math.max(...probed.latencies),
        count: probed.latencies.length,
        failures: probed.failures,
        sample: probed.sample,
        used: probed.used,
        slow,
      }
    },
  }
}

export interface LoadOptions {
  url: string
  /** default POST */
  method?: 'GET' | 'POST'
  /** the request's path and query, replacing the url's; `{ID}` is replaced as in the body */
  path?: string
  /** the request body; `{ID}` is replaced by ids[0], ids[1], … one per request */
  body?: string
  ids?: { first: number; last: number }
  connections: number
  seconds: number
  headers?: Record<string, string>
}

export interface LoadResult {
  /** 2xx replies per second */
  rps: number
  total: number
  non2xx: number
  errors: number
  /** latency percentiles of the 2xx replies, ms */
  p50: number
  p99: number
  /** the last id handed out (ids[0] + requests made - 1) */
  lastId?: number
}

/**
 * Drives HTTP load with autocannon (keep-alive connections) from a child process, so that the load generator
 * does not share the event loop of the server it measures.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (!new URL(options.url).hostname.startsWith('127.')) throw new Error('load only to loopback')
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(import.meta.dirname, 'load-driver.ts')],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  child.stdin.end(JSON.stringify(options))
  let output = ''
  child.stdout.on('data', (chunk) => {
    output += chunk
  })
  const timeout = setTimeout(() => child.kill('SIGKILL'), (options.seconds + 60) * 1000)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(timeout)
  if (code !== 0) throw new Error(`load driver exited with ${code}: ${output.slice(0, 500)}`)
  return JSON.parse(output) as LoadResult
}

/** Restores one probe process makes at most (10 ms apart: more than any phase of a workload lasts). */
const PROBE_BATCH = 5000

/**
 * Another user's single restores while a workload runs, as W7 and W8 measure them: a user of the tenant with
 * `items` trashed files of their own, restored one by one through the IPS door by restore probes in a process of
 * their own (restoreProbeProcess), each probe over ids that the ones before did not use.
 */
export async function restoreProber(ctx: BenchContext, tenantId: number, name: string, items = 20_000) {
  const user = await benchUser(ctx, tenantId, name)
  const ids = await trashedFiles(ctx.db, { tenantId, userId: user.userId, count: items, prefix: 'probe' })
  let next = ids.first
  return {
    user,
    /** A probe over the next unused ids: await `ready`, run the workload, then `stop` for the figures. */
    start(baseUrl: string): Omit<LatencyProbe, 'stop'> & { stop(): Promise<ProcessProbeResult> } {
      const batch = Array.from({ length: PROBE_BATCH }, (_, i) => next + i).filter((id) => id <= ids.last)
      if (batch.length === 0) throw new Error(`the restore probe's ${items} items are used up`)
      const probe = restoreProbeProcess(baseUrl, user, tenantId, batch)
      return {
        ready: probe.ready,
        async stop() {
          const figures = await probe.stop()
          next += figures.used
          return figures
        },
      }
    },
  }
}

/** A phase's wall-clock window, to match it with what the database or the machine did then. */
export const clockWindow = (from: number, to: number) =>
  `${new Date(from).toISOString().slice(11, 23)}-${new Date(to).toISOString().slice(11, 23)} UTC`

/** A probe's restores over 100 ms, each by its start in seconds into the phase that began at `from`. */
export const slowRestores = (slow: ProcessProbeResult['slow'], from: number) =>
  slow.length === 0
    ? 'no restore over 100 ms'
    : `${slow.length} restores over 100 ms: ${slow
        .slice(0, 40)
        .map((s) => `+${((s.at - from) / 1000).toFixed(1)}s ${s.ms.toFixed(0)} ms`)
        .join(', ')}${slow.length > 40 ? ', …' : ''}`

/**
 * What the workload's database sessions wait on while `during` runs: pg_stat_activity sampled every `everyMs` from
 * a connection of its own, each active session counted once per sample by what it waits on (`CPU` when nothing)
 * and by its statement's first words. Tells a wait of ours (a lock, the pool, a statement on the CPU) from the
 * machine's (`WALSync`, `DataFileRead`).
 */
export async function sampleWaits<T>(
  url: string,
  during: () => Promise<T>,
  everyMs = 100,
): Promise<{ value: T; samples: number; waits: [string, number][] }> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  const counts = new Map<string, number>()
  let samples = 0
  let sampling = true
  const loop = (async () => {
    while (sampling) {
      const result = await client.query<{ what: string }>(
        `select coalesce(wait_event_type || ':' || wait_event, 'CPU') || ' ' ||
                left(regexp_replace(query, '\\s+', ' ', 'g'), 48) as what
           from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and state = 'active'`,
      )
      samples++
      for (const { what } of result.rows) counts.set(what, (counts.get(what) ?? 0) + 1)
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  try {
    const value = await during()
    return { value, samples, waits: [...counts].sort((a, b) => b[1] - a[1]) }
  } finally {
    sampling = false
    await loop.catch(() => {})
    await client.end()
  }
}
