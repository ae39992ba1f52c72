import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import pino from 'pino'
import { loadConfig } from '../src/config.js'
import { type AppContext, createContext } from '../src/context.js'
import type { Actor } from '../src/core/types.js'
import { connectPostgres } from '../src/db/database.js'

export const BENCH_DATABASE_URL =
  process.env.BENCH_DATABASE_URL ??
  process.env.TEST_DATABASE_URL ??
  'postgres://postgres@127.0.0.1:5432/postgres'

export interface Measurement {
  /** wall times in milliseconds of our path, one per repetition */
  ours: number[]
  /** wall times of the limit measured in the same run */
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
  run(bench: BenchEnv): Promise<Measurement>
}

export interface BenchEnv {
  ctx: AppContext
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

/** A fresh, migrated database with its own data directory and context; dropped afterwards. */
export async function withBenchContext<T>(fn: (ctx: AppContext, url: string) => Promise<T>): Promise<T> {
  const name = `trashd_bench_${randomBytes(5).toString('hex')}`
  const admin = new pg.Client({ connectionString: BENCH_DATABASE_URL })
  await admin.connect()
  await admin.query(`create database ${name}`)
  await admin.end()
  const url = new URL(BENCH_DATABASE_URL)
  url.pathname = `/${name}`
  const dataDir = await mkdtemp(path.join(tmpdir(), 'trashd-bench-'))
  const db = connectPostgres(url.toString(), 20)
  const config = loadConfig({
    DATA_DIR: dataDir,
    ADMIN_TOKEN: 'bench-admin-token-0123456789',
    LOG_LEVEL: 'silent',
    CLEANUP_SCHEDULE: 'off',
  })
  const ctx = await createContext(config, { db, logger: pino({ level: 'silent' }) })
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
  await ctx.admin.createUser(tenantId, { login, password: 'bench', admin: true })
  const admin = (await ctx.auth.authenticate(login, 'bench', 'rest'))!
  return { tenantId, admin }
}
