import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLoadTenant, runMixedLoad } from '../bench/mixed-load.js'
import { openTransactions, usingRealPostgres } from './helpers/db.js'
import { ADMIN_TOKEN, startTestServer, type TestServer } from './helpers/server.js'

/**
 * The short form of `npm run load`: ten seconds of the mixed workload of every door through autocannon against
 * a real listening server. Every reply must be a normal answer (no 5xx, no socket error, no server failure in a
 * door's own format). Throughput is printed, never asserted.
 */

let server: TestServer

beforeAll(async () => {
  server = await startTestServer()
})

afterAll(async () => {
  await server?.close()
})

describe('load: the mixed workload of every door', () => {
  it('10 s of trash, restore, listings and searches through all doors: zero errors', async () => {
    const tenant = await createLoadTenant(server.baseUrl, ADMIN_TOKEN, 100)
    const summary = await runMixedLoad(server.baseUrl, tenant, { seconds: 10, connections: 10 })
    console.log(
      `load: ${summary.requests} requests, ${summary.rps}/s, p50 ${summary.p50} ms, p99 ${summary.p99} ms`,
    )
    expect(summary.failureSamples).toEqual([])
    expect(summary.requests).toBeGreaterThan(0)
    expect({
      non2xx: summary.non2xx,
      socketErrors: summary.socketErrors,
      serverFailures: summary.serverFailures,
    }).toEqual({
      non2xx: 0,
      socketErrors: 0,
      serverFailures: 0,
    })
    // the pool is intact: no item was lost or left half-way
    const states = await server.database.db.query<{ state: string; n: number }>(
      'select state, count(*)::int as n from items where tenant_id = $1 group by state',
      [tenant.tenantId],
    )
    const total = states.rows.reduce((sum, row) => sum + row.n, 0)
    expect(total).toBe(100)
    for (const row of states.rows) expect(['active', 'trashed']).toContain(row.state)
    // the connections of listings cut off when the load stopped are given back (none left inside a transaction);
    // the embedded database streams listings in pages and holds no connection between them
    if (usingRealPostgres()) expect(await openTransactions(server.database, 10)).toBe(0)
  })
})
