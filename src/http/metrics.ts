import { createHash, timingSafeEqual } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'
import type { AppContext } from '../context.js'
import type { StoreFigures } from '../db/metrics-repository.js'
import { notedOf } from '../protocols/kit/request-notes.js'
import { problem, sendProblem } from '../protocols/rest/problem.js'

/** Where a request came in: one of the doors, or the operator's endpoints (health, readiness, metrics). */
export type DoorName = 'rest' | 'ips' | 'asmx' | 'enterprise' | 'web' | 'ops'

const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics'])

export function doorOf(url: string): DoorName {
  const path = url.split('?')[0]!
  if (path.startsWith('/api/')) return 'rest'
  if (path.startsWith('/scene7/')) return 'ips'
  if (path.toLowerCase().startsWith('/srv.asmx')) return 'asmx'
  if (path.startsWith('/Enterprise/') || path.startsWith('/StudioServer/')) return 'enterprise'
  if (OPS_PATHS.has(path)) return 'ops'
  return 'web'
}

/** The door of each route's pattern, as doorOf says (the routes are few: worked out once each). */
const routeDoors = new Map<string, DoorName>()

function doorOfRoute(route: string): DoorName {
  let door = routeDoors.get(route)
  if (door === undefined) {
    door = doorOf(route)
    routeDoors.set(route, door)
  }
  return door
}

/** Who may read /metrics, given the configuration; see the README's Metrics section. */
export type MetricsAccess = 'token' | 'loopback' | 'off'

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false
  const name = address.replace(/^\[|\]$/g, '').toLowerCase()
  return (
    name === 'localhost' ||
    name === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(name) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(name)
  )
}

export function metricsAccess(config: { METRICS_TOKEN?: string; HOST: string }): MetricsAccess {
  if (config.METRICS_TOKEN) return 'token'
  return isLoopbackAddress(config.HOST) ? 'loopback' : 'off'
}

const digest = (text: string) => createHash('sha256').update(text).digest()

/** Seconds the store figures (one SQL statement) are reused for: several scrapers cost one query. */
export const STORE_FIGURES_TTL_MS = 10_000
/** The store statement's own timeout: a slow database leaves the store series out, never holds the scrape. */
export const STORE_QUERY_TIMEOUT_MS = 5_000

/** The server's Prometheus registry: HTTP traffic by door and operation, core errors, and what is stored. */
export class ServerMetrics {
  readonly registry = new Registry()
  private readonly requests: Counter<'door' | 'operation' | 'status'>
  private readonly latency: Histogram<'door' | 'operation'>
  private readonly coreErrors: Counter<'door' | 'code'>
  private readonly trashItems: Gauge<string>
  private readonly trashBytes: Gauge<string>
  private readonly backlog: Gauge<string>
  private readonly itemsEstimate: Gauge
  private readonly cleanupRuns: Gauge<'status'>
  private readonly cleanupLastSuccess: Gauge
  private readonly cleanupLastDuration: Gauge
  private readonly cleanupLastPurged: Gauge
  private readonly cleanupLastFailed: Gauge
  private readonly cleanupLastSucceeded: Gauge
  private readonly storeUp: Gauge
  private figures: { at: number; value: Promise<StoreFigures> } | null = null
  /** how long one read of the stored-data figures is reused (tests set 0) */
  storeFiguresTtlMs = STORE_FIGURES_TTL_MS
  /** statements the stored-data figures took so far (one per read) */
  storeReads = 0
  private processMetrics = false

  constructor(private readonly ctx: AppContext) {
    const registers = [this.registry]
    const tenantLabels = ctx.config.METRICS_TENANT_LABEL ? ['tenant'] : []
    this.requests = new Counter({
      name: 'trashd_http_requests_total',
      help: 'HTTP requests answered, by door, operation and HTTP status',
      labelNames: ['door', 'operation', 'status'],
      registers,
    })
    this.latency = new Histogram({
      name: 'trashd_http_request_duration_seconds',
      help: 'Time from request to the end of the answer, by door and operation',
      labelNames: ['door', 'operation'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    })
    this.coreErrors = new Counter({
      name: 'trashd_core_errors_total',
      help: 'Errors the core answered (a refused request, or an item of a batch), by door and core error code',
      labelNames: ['door', 'code'],
      registers,
    })
    this.trashItems = new Gauge({
      name: 'trashd_trash_items',
      help: 'Items in the trash by state (trashed, emptied, purging)',
      labelNames: ['state', ...tenantLabels],
      registers,
    })
    this.trashBytes = new Gauge({
      name: 'trashd_trash_bytes',
      help: 'Bytes of the files in the trash by state (current versions)',
      labelNames: ['state', ...tenantLabels],
      registers,
    })
    this.backlog = new Gauge({
      name: 'trashd_purge_backlog_items',
      help:
        'Items due for a purge by reason: emptied, expired (past retention), failed (an earlier purge failed), ' +
        'unfinished (a purge in progress or left by a process that stopped); items under legal hold are left out',
      labelNames: ['reason', ...tenantLabels],
      registers,
    })
    this.itemsEstimate = new Gauge({
      name: 'trashd_items_estimate',
      help: "All item rows, every state, as PostgreSQL's planner estimates them (no count is run)",
      registers,
    })
    this.cleanupRuns = new Gauge({
      name: 'trashd_cleanup_runs',
      help: 'Cleanup runs recorded in the database (every instance and the CLI), by status',
      labelNames: ['status'],
      registers,
    })
    this.cleanupLastSuccess = new Gauge({
      name: 'trashd_cleanup_last_success_timestamp_seconds',
      help: 'When the last cleanup run that succeeded finished (Unix time; 0: none has)',
      registers,
    })
    this.cleanupLastDuration = new Gauge({
      name: 'trashd_cleanup_last_run_duration_seconds',
      help: 'How long the last finished cleanup run took',
      registers,
    })
    this.cleanupLastPurged = new Gauge({
      name: 'trashd_cleanup_last_run_purged_items',
      help: 'Items the last finished cleanup run purged',
      registers,
    })
    this.cleanupLastFailed = new Gauge({
      name: 'trashd_cleanup_last_run_failed_items',
      help: 'Items the last finished cleanup run could not purge',
      registers,
    })
    this.cleanupLastSucceeded = new Gauge({
      name: 'trashd_cleanup_last_run_succeeded',
      help: '1 when the last finished cleanup run succeeded, else 0',
      registers,
    })
    this.storeUp = new Gauge({
      name: 'trashd_store_figures_up',
      help:
        '1 when the stored-data series (trash, backlog, cleanup) could be read for this scrape, 0 when the ' +
        'database did not answer in time (those series are then left out)',
      registers,
    })
    new Gauge({
      name: 'trashd_event_subscriptions',
      help: 'Live event subscriptions on this instance (event streams, Enterprise and web clients)',
      registers,
      collect() {
        this.set(ctx.events.subscriptions)
      },
    })
    new Gauge({
      name: 'trashd_db_pool_connections',
      help: 'Database pool of this instance: connections open, idle, and requests waiting for one',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = ctx.database.poolStats()
        if (!stats) return
        this.set({ state: 'open' }, stats.total)
        this.set({ state: 'idle' }, stats.idle)
        this.set({ state: 'waiting' }, stats.waiting)
      },
    })
    new Gauge({
      name: 'trashd_db_pool_max_connections',
      help: 'The pool size limit (DB_POOL_SIZE; 1 on the embedded database)',
      registers,
      collect() {
        const stats = ctx.database.poolStats()
        if (stats) this.set(stats.max)
      },
    })
  }

  /** Node's process and runtime series (CPU, memory, event loop lag, GC); for the server process only. */
  collectProcessMetrics() {
    if (this.processMetrics) return
    this.processMetrics = true
    collectDefaultMetrics({ register: this.registry })
  }

  /** Counts an answered request (fastify's onResponse). */
  observe(request: FastifyRequest, reply: FastifyReply) {
    const route = request.routeOptions.url
    const door = route !== undefined ? doorOfRoute(route) : doorOf(request.url)
    const noted = notedOf(request)
    const operation = noted?.operation ?? (route ? `${request.method} ${route}` : 'unmatched')
    this.requests.inc({ door, operation, status: String(reply.statusCode) })
    this.latency.observe({ door, operation }, reply.elapsedTime / 1000)
    for (const code of noted?.errors ?? []) this.coreErrors.inc({ door, code })
  }

  private storeFigures(): Promise<StoreFigures> {
    const now = Date.now()
    if (!this.figures || now - this.figures.at >= this.storeFiguresTtlMs) {
      this.storeReads++
      const value = this.ctx.database.storeFigures({
        perTenant: this.ctx.config.METRICS_TENANT_LABEL,
        timeoutMs: STORE_QUERY_TIMEOUT_MS,
      })
      // a failed read is not kept: the next scrape asks again
      value.catch(() => {
        if (this.figures?.value === value) this.figures = null
      })
      this.figures = { at: now, value }
    }
    return this.figures.value
  }

  private async refreshStore() {
    let figures: StoreFigures
    try {
      figures = await this.storeFigures()
    } catch (error) {
      this.ctx.logger.warn({ err: error }, 'metrics: the stored-data figures could not be read')
      for (const gauge of [
        this.trashItems,
        this.trashBytes,
        this.backlog,
        this.cleanupRuns,
        this.itemsEstimate,
        this.cleanupLastSuccess,
        this.cleanupLastDuration,
        this.cleanupLastPurged,
        this.cleanupLastFailed,
        this.cleanupLastSucceeded,
      ])
        gauge.reset()
      this.storeUp.set(0)
      return
    }
    const tenant = (id: number | null) => (id === null ? {} : { tenant: String(id) })
    this.trashItems.reset()
    this.trashBytes.reset()
    for (const state of ['trashed', 'emptied', 'purging'] as const) {
      // every state is present, zero included, so that an alert on a series does not see it vanish
      if (!this.ctx.config.METRICS_TENANT_LABEL) {
        this.trashItems.set({ state }, 0)
        this.trashBytes.set({ state }, 0)
      }
    }
    for (const row of figures.trash) {
      this.trashItems.set({ state: row.state, ...tenant(row.tenantId) }, row.items)
      this.trashBytes.set({ state: row.state, ...tenant(row.tenantId) }, row.bytes)
    }
    this.backlog.reset()
    if (!this.ctx.config.METRICS_TENANT_LABEL)
      for (const reason of ['emptied', 'expired', 'failed', 'unfinished']) this.backlog.set({ reason }, 0)
    for (const row of figures.backlog)
      this.backlog.set({ reason: row.reason, ...tenant(row.tenantId) }, row.items)
    this.itemsEstimate.set(figures.itemsEstimate)
    this.cleanupRuns.reset()
    for (const status of ['running', 'succeeded', 'partial', 'failed', 'abandoned'])
      this.cleanupRuns.set({ status }, figures.cleanup.runsByStatus[status] ?? 0)
    this.cleanupLastSuccess.set(
      figures.cleanup.lastSuccessAt ? figures.cleanup.lastSuccessAt.getTime() / 1000 : 0,
    )
    const last = figures.cleanup.last
    for (const [gauge, value] of [
      [this.cleanupLastDuration, last?.durationSeconds],
      [this.cleanupLastPurged, last?.purged],
      [this.cleanupLastFailed, last?.failed],
      [this.cleanupLastSucceeded, last ? Number(last.status === 'succeeded') : undefined],
    ] as const) {
      if (value === undefined) gauge.reset()
      else gauge.set(value)
    }
    this.storeUp.set(1)
  }

  /** The exposition text of every series. */
  async exposition(): Promise<string> {
    await this.refreshStore()
    return this.registry.metrics()
  }
}

/**
 * Counts every request, and serves GET /metrics by the rule of `metricsAccess`: with METRICS_TOKEN, the bearer
 * of that token only; without it, on a loopback HOST, a client on this machine that did not come through a proxy
 * (no Forwarded / X-Forwarded-For); on any other HOST, nobody (404).
 */
export function registerMetrics(app: FastifyInstance, ctx: AppContext): ServerMetrics {
  const metrics = new ServerMetrics(ctx)
  // a callback hook: an async one would cost every request a promise and a turn of the microtask queue
  app.addHook('onResponse', (request, reply, done) => {
    metrics.observe(request, reply)
    done()
  })
  const access = metricsAccess(ctx.config)
  const expected = ctx.config.METRICS_TOKEN ? digest(ctx.config.METRICS_TOKEN) : null
  app.get('/metrics', async (request, reply) => {
    if (access === 'off') {
      return sendProblem(
        reply,
        problem(
          404,
          `Metrics are off: HOST=${ctx.config.HOST} serves other machines; set METRICS_TOKEN to serve them to its bearer`,
        ),
      )
    }
    if (access === 'token') {
      const header = request.headers.authorization
      const token = typeof header === 'string' && /^Bearer /i.test(header) ? header.slice(7).trim() : ''
      if (!expected || !timingSafeEqual(digest(token), expected)) {
        reply.header('www-authenticate', 'Bearer realm="metrics"')
        return sendProblem(reply, problem(401, 'Metrics need Authorization: Bearer <METRICS_TOKEN>'))
      }
    } else {
      const forwarded = request.headers.forwarded ?? request.headers['x-forwarded-for']
      if (!isLoopbackAddress(request.raw.socket.remoteAddress) || forwarded !== undefined) {
        return sendProblem(
          reply,
          problem(
            403,
            'Without METRICS_TOKEN metrics are served to this machine only, not through a proxy; set METRICS_TOKEN',
          ),
        )
      }
    }
    const text = await metrics.exposition()
    return reply.type(metrics.registry.contentType).header('cache-control', 'no-store').send(text)
  })
  return metrics
}
