import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AppContext } from '../src/context.js'
import { buildApp } from '../src/http/app.js'
import { createFile } from './helpers/cleanup.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

/**
 * GET /metrics: the Prometheus exposition text of the requests per door and operation, the core's errors, what is in
 * the trash, the purge backlog, the cleanup runs, the event subscriptions and the pool; and who may read it.
 */

let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  server.app.metrics.storeFiguresTtlMs = 0
  f = await createFixture(server.ctx, 'metrics')
}, 120_000)
afterAll(async () => {
  await server?.close()
})

async function scrape(app = server.app, headers: Record<string, string> = {}) {
  const response = await app.inject({ method: 'GET', url: '/metrics', headers })
  return { status: response.statusCode, text: response.body, type: response.headers['content-type'] }
}

/** The value of one series, given its name and labels exactly as exposed (`name{a="b"}`), or undefined. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

const user = () => basicAuth(f.users.admin!)

describe('the exposition', () => {
  it('counts requests and latency per door and operation, and the core errors by code', async () => {
    const a = await createFile(server.ctx, f, 'counted-a.txt')
    const trash = await server.app.inject({
      method: 'POST',
      url: '/api/v1/items/trash',
      headers: { authorization: user(), 'content-type': 'application/json' },
      payload: { ids: [a.id, 999_999] },
    })
    expect(trash.statusCode).toBe(200)
    // srv.asmx: a method the door knows, refused by the core (the item does not exist)
    const login = await server.app.inject({
      method: 'GET',
      url: `/srv.asmx/AuthenticateUser?UID=${f.users.admin!.login}&PWD=${f.users.admin!.password}`,
    })
    const ticket = /ticket="([^"]+)"/.exec(login.body)?.[1]
    expect(ticket).toBeTruthy()
    await server.app.inject({
      method: 'GET',
      url: `/srv.asmx/DeleteDocument?AuthenticationTicket=${ticket}&Path=~D999999`,
    })
    // a refusal the core throws (not a batch item)
    const missing = await server.app.inject({
      method: 'GET',
      url: `/api/v1/tenants/${f.tenantId}/items/999998`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(missing.statusCode).toBe(404)
    // an Enterprise request the door does not have is labelled by its route, not by the name it was sent
    await server.app.inject({
      method: 'POST',
      url: '/Enterprise/index.php',
      headers: { 'content-type': 'text/xml' },
      payload:
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><NoSuchCall123/></s:Body></s:Envelope>',
    })

    const { status, text, type } = await scrape()
    expect(status).toBe(200)
    expect(type).toContain('text/plain; version=0.0.4')
    expect(text).toContain('# TYPE trashd_http_requests_total counter')
    expect(
      value(
        text,
        'trashd_http_requests_total{door="rest",operation="POST /api/v1/items/trash",status="200"}',
      ),
    ).toBe(1)
    expect(
      value(
        text,
        'trashd_http_request_duration_seconds_count{door="rest",operation="POST /api/v1/items/trash"}',
      ),
    ).toBe(1)
    expect(
      value(text, 'trashd_http_requests_total{door="asmx",operation="AuthenticateUser",status="200"}'),
    ).toBe(1)
    expect(text).toMatch(
      /trashd_http_requests_total\{door="asmx",operation="DeleteDocument",status="\d+"\} 1/,
    )
    expect(text).toMatch(
      /trashd_http_requests_total\{door="enterprise",operation="POST \/Enterprise\/index.php",status="\d+"\} 1/,
    )
    expect(text).not.toContain('NoSuchCall123')
    // the batch item that does not exist and the item read that was refused, at the REST door
    expect(value(text, 'trashd_core_errors_total{door="rest",code="NOT_FOUND"}')).toBe(2)
  })

  it('reports the trash by state with its bytes, the purge backlog, and the cleanup runs from the database', async () => {
    const before = await scrape()
    const trashed = value(before.text, 'trashd_trash_items{state="trashed"}')!
    const b = await createFile(server.ctx, f, 'bytes-b.txt') // "content of bytes-b.txt": 22 bytes
    const c = await createFile(server.ctx, f, 'bytes-c.txt')
    const actor = f.users.admin!.actor
    expect((await server.ctx.trash.trash(actor, [b.id, c.id])).errorCount).toBe(0)
    expect((await server.ctx.trash.empty(actor, [c.id])).errorCount).toBe(0)

    let { text } = await scrape()
    expect(value(text, 'trashd_trash_items{state="trashed"}')).toBe(trashed + 1)
    expect(value(text, 'trashd_trash_items{state="emptied"}')).toBe(1)
    expect(value(text, 'trashd_trash_bytes{state="emptied"}')).toBe(22)
    expect(value(text, 'trashd_trash_items{state="purging"}')).toBe(0)
    expect(value(text, 'trashd_purge_backlog_items{reason="emptied"}')).toBe(1)
    expect(value(text, 'trashd_purge_backlog_items{reason="expired"}')).toBe(0)
    expect(value(text, 'trashd_cleanup_last_success_timestamp_seconds')).toBe(0)
    expect(value(text, 'trashd_store_figures_up')).toBe(1)

    const report = await server.ctx.cleanup.run({ trigger: 'cli' })
    expect(report?.run.status).toBe('succeeded')
    ;({ text } = await scrape())
    expect(value(text, 'trashd_trash_items{state="emptied"}')).toBe(0)
    expect(value(text, 'trashd_purge_backlog_items{reason="emptied"}')).toBe(0)
    expect(value(text, 'trashd_cleanup_runs{status="succeeded"}')).toBe(1)
    expect(value(text, 'trashd_cleanup_last_run_succeeded')).toBe(1)
    expect(value(text, 'trashd_cleanup_last_run_purged_items')).toBe(1)
    expect(value(text, 'trashd_cleanup_last_run_failed_items')).toBe(0)
    expect(value(text, 'trashd_cleanup_last_run_duration_seconds')).toBeGreaterThanOrEqual(0)
    const lastSuccess = value(text, 'trashd_cleanup_last_success_timestamp_seconds')!
    expect(Math.abs(lastSuccess - Date.now() / 1000)).toBeLessThan(300)
  }, 60_000)

  it('reports event subscriptions and the database pool', async () => {
    const unsubscribe = await server.ctx.events.subscribe(f.tenantId, () => {})
    try {
      const { text } = await scrape()
      expect(value(text, 'trashd_event_subscriptions')).toBe(1)
      expect(value(text, 'trashd_db_pool_max_connections')).toBeGreaterThanOrEqual(1)
      expect(value(text, 'trashd_db_pool_connections{state="waiting"}')).toBe(0)
      expect(text).toMatch(/trashd_db_pool_connections\{state="open"\} \d+/)
    } finally {
      unsubscribe()
    }
  })

  it('reads the stored-data figures with one statement per scrape, reused while fresh', async () => {
    const metrics = server.app.metrics
    const reads = metrics.storeReads
    await scrape()
    expect(metrics.storeReads).toBe(reads + 1)
    metrics.storeFiguresTtlMs = 60_000
    try {
      await scrape()
      await scrape()
      expect(metrics.storeReads).toBe(reads + 1)
    } finally {
      metrics.storeFiguresTtlMs = 0
    }
  })

  it('labels the trash and backlog by tenant only when METRICS_TENANT_LABEL=true', async () => {
    const plain = await scrape()
    expect(plain.text).not.toMatch(/trashd_trash_items\{[^}]*tenant=/)
    const app = await appWith({ METRICS_TENANT_LABEL: true })
    try {
      const { text } = await scrape(app)
      expect(
        value(text, `trashd_trash_items{state="trashed",tenant="${f.tenantId}"}`),
      ).toBeGreaterThanOrEqual(1)
      expect(text).toMatch(
        new RegExp(`trashd_purge_backlog_items\\{reason="emptied",tenant="${f.tenantId}"\\} 0`),
      )
    } finally {
      await app.close()
    }
  })
})

/** An app over the same context, with other settings. */
async function appWith(settings: Partial<AppContext['config']>) {
  const ctx: AppContext = { ...server.ctx, config: Object.freeze({ ...server.ctx.config, ...settings }) }
  const app = await buildApp(ctx)
  app.metrics.storeFiguresTtlMs = 0
  return app
}

describe('who may read /metrics', () => {
  it('without METRICS_TOKEN on a loopback HOST: this machine, not through a proxy, not another machine', async () => {
    expect((await scrape()).status).toBe(200)
    const forwarded = await scrape(server.app, { 'x-forwarded-for': '203.0.113.9' })
    expect(forwarded.status).toBe(403)
    expect(forwarded.text).toContain('METRICS_TOKEN')
    expect((await scrape(server.app, { forwarded: 'for=203.0.113.9' })).status).toBe(403)
    const remote = await server.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '203.0.113.9' })
    expect(remote.statusCode).toBe(403)
    // and over a real loopback connection
    const real = await fetch(`${server.baseUrl}/metrics`)
    expect(real.status).toBe(200)
    expect(await real.text()).toContain('trashd_http_requests_total')
  })

  it('without METRICS_TOKEN on a HOST beyond loopback: off', async () => {
    const app = await appWith({ HOST: '0.0.0.0' })
    try {
      const { status, text } = await scrape(app)
      expect(status).toBe(404)
      expect(text).toContain('set METRICS_TOKEN')
      expect(text).not.toContain('trashd_')
    } finally {
      await app.close()
    }
  })

  it('with METRICS_TOKEN: its bearer only, whatever HOST and wherever from', async () => {
    const token = 'metrics-token-0123456789'
    const app = await appWith({ HOST: '0.0.0.0', METRICS_TOKEN: token })
    try {
      expect((await scrape(app)).status).toBe(401)
      expect((await scrape(app, { authorization: 'Bearer metrics-token-wrong-0000' })).status).toBe(401)
      // the admin token is not the metrics token
      expect((await scrape(app, { authorization: `Bearer ${ADMIN_TOKEN}` })).status).toBe(401)
      const ok = await app.inject({
        method: 'GET',
        url: '/metrics',
        remoteAddress: '203.0.113.9',
        headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': '198.51.100.1' },
      })
      expect(ok.statusCode).toBe(200)
      expect(ok.body).toContain('trashd_trash_items')
    } finally {
      await app.close()
    }
  })
})
