import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createContext } from '../src/context.js'
import { connectPostgres, type Database } from '../src/db/database.js'
import { buildApp } from '../src/http/app.js'
import { parseXml } from '../src/protocols/soap/xml.js'
import { asmxTicket, stalledReader } from './helpers/asmx.js'
import { envelope, logOn, postEnterprise } from './helpers/enterprise.js'
import { authHeader, bodyOf, COMMON_NS, ns, post as postIps, soap11 } from './helpers/ips.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * PostgreSQL dropping a connection the server has checked out (a terminated backend, an idle-in-transaction
 * timeout, a failover) fails the request it serves, in its door's format, and nothing else: the process, the
 * pool and the other requests carry on, and the transaction is rolled back. Terminating backends needs a real
 * PostgreSQL (the embedded database has one connection, served in this process), so this file runs only with
 * TEST_DATABASE_URL.
 */
describe(
  'database faults are ordinary errors',
  needs(POSTGRES, 'ends backends and sets server-side timeouts'),
  () => {
    let server: TestServer
    let f: Fixture
    /** a connection of the test's own, outside the server's pool */
    let admin: pg.Client

    beforeAll(async () => {
      server = await startTestServer()
      f = await createFixture(server.ctx, 'faults')
      admin = new pg.Client({ connectionString: server.database.url })
      await admin.connect()
    })

    afterAll(async () => {
      await admin?.end()
      await server?.close()
    })

    /** `count` file items of the editor's brand, trashed or active, inserted set-based; their ids. */
    async function files(count: number, state: 'active' | 'trashed'): Promise<number[]> {
      const user = f.users.editor!
      const result = await admin.query<{ id: number }>(
        `insert into items (tenant_id, kind, type, name, brand_id, size, state, deleted_at, deleted_by, deleted_via,
                          original_parent_id, original_path)
       select $1, 'file', 'Document', 'fault-' || $4 || '-' || g || '.pdf', $2, 10, $4,
              case when $4 = 'trashed' then now() end, case when $4 = 'trashed' then $3::bigint end,
              case when $4 = 'trashed' then 'rest' end, null,
              case when $4 = 'trashed' then '/fault-' || $4 || '-' || g || '.pdf' end
         from generate_series(1, $5::int) g
       returning id::int`,
        [f.tenantId, f.brandId, user.id, state, count],
      )
      const ids = result.rows.map((row) => row.id)
      if (state === 'trashed') await admin.query('update items set trash_root = id where id = any($1)', [ids])
      return ids
    }

    async function states(ids: number[]): Promise<Record<string, number>> {
      const result = await admin.query<{ state: string; n: number }>(
        'select state, count(*)::int as n from items where id = any($1) group by state',
        [ids],
      )
      return Object.fromEntries(result.rows.map((row) => [row.state, row.n]))
    }

    /** The server's backends on this database matching `where` (on pg_stat_activity), polled up to 10 s if `wait`. */
    async function backends(where: string, wait = true): Promise<number[]> {
      for (let tries = 0; tries < (wait ? 100 : 1); tries++) {
        // inside a transaction pg_stat_activity is read once and kept: a backend that starts waiting after the
        // first look would never be seen
        await admin.query('select pg_stat_clear_snapshot()')
        const found = await admin.query<{ pid: number }>(
          `select pid from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid() and ${where}`,
        )
        if (found.rows.length > 0) return found.rows.map((row) => row.pid)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      return []
    }

    /** Ends every connection of the server, as a restart of PostgreSQL would, and waits for them to be gone. */
    async function terminateAll() {
      for (let tries = 0; tries < 100; tries++) {
        const left = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and pid <> pg_backend_pid()`,
        )
        if (left.rows.length === 0) break
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      // the pool drops its idle connections as their error events arrive
      await new Promise((resolve) => setTimeout(resolve, 200))
    }

    /**
     * Runs `request` while the items table is locked, so that its transaction waits inside PostgreSQL; then ends
     * that backend as a failover would, and lets the table go. Returns the request's answer.
     */
    async function terminatedMidTransaction<T>(request: () => Promise<T>): Promise<T> {
      await admin.query('begin')
      await admin.query('lock table items in exclusive mode')
      const answer = request()
      try {
        const waiting = await backends(`wait_event_type = 'Lock'`)
        expect(waiting.length).toBeGreaterThan(0)
        for (const pid of waiting) await admin.query('select pg_terminate_backend($1)', [pid])
      } finally {
        await admin.query('commit')
      }
      return answer
    }

    /** The server still answers: /healthz, and a database round trip through a door. */
    async function stillServing() {
      const health = await fetch(`${server.baseUrl}/healthz`)
      expect(health.status).toBe(200)
      const listing = await fetch(`${server.baseUrl}/api/v1/trash?scope=own`, {
        headers: { authorization: basicAuth(f.users.editor!) },
      })
      expect(listing.status).toBe(200)
    }

    it('REST: a trash of 2,000 items whose connection is terminated answers a problem and trashes nothing', async () => {
      const ids = await files(2000, 'active')
      const reply = await terminatedMidTransaction(() =>
        fetch(`${server.baseUrl}/api/v1/items/trash`, {
          method: 'POST',
          headers: { authorization: basicAuth(f.users.editor!), 'content-type': 'application/json' },
          body: JSON.stringify({ ids }),
        }),
      )
      expect(reply.status).toBeGreaterThanOrEqual(500)
      expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
      expect(await reply.json()).toMatchObject({ status: reply.status })
      expect(await states(ids)).toEqual({ active: 2000 })
      await stillServing()
    })

    it('IPS: a restore of 2,000 assets whose connection is terminated answers an ipsApiFault and restores nothing', async () => {
      const ids = await files(2000, 'trashed')
      const operation =
        `<restoreAssetsFromTrashParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${f.tenantId}</companyHandle>` +
        `<assetHandleArray>${ids.map((id) => `<items>a|${id}</items>`).join('')}</assetHandleArray></restoreAssetsFromTrashParam>`
      const reply = await terminatedMidTransaction(() =>
        postIps(
          server.baseUrl,
          '/scene7/services/IpsApiService',
          soap11(operation, authHeader(f.users.editor!)),
        ),
      )
      expect(reply.status, reply.text).toBe(500)
      const fault = bodyOf(reply.root)
      expect(fault.name).toBe('Fault')
      const detail = fault.children.find((c) => c.name === 'detail')!.children[0]!
      expect(detail).toMatchObject({ name: 'ipsApiFault', ns: COMMON_NS })
      expect(await states(ids)).toEqual({ trashed: 2000 })
      await stillServing()
    })

    it('Enterprise: a RestoreObjects of 2,000 objects whose connection is terminated answers a fault', async () => {
      const ids = await files(2000, 'trashed')
      const ticket = await logOn(server, f.users.editor!)
      const reply = await terminatedMidTransaction(() =>
        postEnterprise(
          server,
          envelope(
            `<ns1:RestoreObjects><Ticket>${ticket}</Ticket><IDs>${ids.map((id) => `<String>${id}</String>`).join('')}</IDs></ns1:RestoreObjects>`,
          ),
        ),
      )
      const body = bodyOf(parseXml(reply.text))
      // a fault, or a v8 answer that reports every object not restored: never a lost connection
      if (body.name === 'Fault') expect(body.children[0]!.text).toBe('SOAP-ENV:Server')
      else {
        expect(body.name).toBe('RestoreObjectsResponse')
        expect(body.children.find((c) => c.name === 'IDs')?.children ?? []).toEqual([])
      }
      expect(await states(ids)).toEqual({ trashed: 2000 })
      await stillServing()
    })

    it('Enterprise: a RestoreObjects of 3,000 objects whose second batch fails reports what was done and what was not', async () => {
      const ids = await files(3000, 'trashed')
      const ticket = await logOn(server, f.users.editor!)
      // the second batch of 1,000 waits for a row held here; its connection is then ended
      await admin.query('begin')
      await admin.query('select 1 from items where id = $1 for update', [ids[1500]])
      const pending = postEnterprise(
        server,
        envelope(
          `<ns1:RestoreObjects><Ticket>${ticket}</Ticket><IDs>${ids.map((id) => `<String>${id}</String>`).join('')}</IDs><Areas><AreaType>Trash</AreaType></Areas></ns1:RestoreObjects>`,
        ),
      )
      try {
        const waiting = await backends(`wait_event_type = 'Lock'`)
        expect(waiting.length).toBeGreaterThan(0)
        for (const pid of waiting) await admin.query('select pg_terminate_backend($1)', [pid])
      } finally {
        await admin.query('rollback')
      }
      const reply = await pending
      const body = bodyOf(parseXml(reply.text))
      expect(body.name, reply.text.slice(0, 500)).toBe('RestoreObjectsResponse')
      const handled = body.children.find((c) => c.name === 'IDs')!.children.map((c) => Number(c.text))
      expect(handled).toEqual(ids.slice(0, 1000))
      const reported = body.children.find((c) => c.name === 'Reports')!.children
      expect(reported.length).toBe(2000)
      expect(await states(ids.slice(0, 1000))).toEqual({ active: 1000 })
      expect(await states(ids.slice(1000))).toEqual({ trashed: 2000 })
      await stillServing()
    }, 180_000)

    it('srv.asmx: a streamed listing whose database connections end while its reader waits ends that reply at most', async () => {
      await files(40_000, 'trashed')
      const ticket = await asmxTicket(server.baseUrl, f.users.editor!)
      // a reader that reads nothing: the listing waits on it, holding whatever it holds
      const { socket, closed } = await stalledReader(
        server.baseUrl,
        `/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket}`,
      )
      await new Promise((resolve) => setTimeout(resolve, 500))
      // every connection of the server ends while the listing waits for its reader (it holds none of them)
      await terminateAll()
      socket.resume()
      await closed
      await stillServing()
    }, 180_000)

    it('an idle-in-transaction timeout of PostgreSQL while a listing waits for its reader does not end the process', async () => {
      const database = new URL(server.database.url).pathname.slice(1)
      await admin.query(`alter database ${database} set idle_in_transaction_session_timeout = '1s'`)
      try {
        // the server's connections are made again, now with the timeout
        await terminateAll()
        await stillServing()
        const ticket = await asmxTicket(server.baseUrl, f.users.editor!)
        const { socket, closed } = await stalledReader(
          server.baseUrl,
          `/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket}`,
        )
        // the timeout fires while the reader waits
        await new Promise((resolve) => setTimeout(resolve, 2500))
        socket.resume()
        await closed
        await stillServing()
      } finally {
        await admin.query(`alter database ${database} reset idle_in_transaction_session_timeout`)
        await terminateAll()
      }
    })
  },
)

/**
 * The pool's bounds: a request that waits longer than the acquire timeout for a connection, or whose statement
 * runs past statement_timeout, is refused as the database being unavailable (REST 503 with Retry-After) while
 * the pool and the process carry on. Needs a real PostgreSQL for the same reason as above.
 */
describe('a bounded pool', needs(POSTGRES, 'server-side timeouts on a pool of real connections'), () => {
  let server: TestServer
  let f: Fixture
  let db: Database
  let app: FastifyInstance
  let baseUrl: string
  let admin: pg.Client
  /** the second server's log lines at warn and above */
  const logged: { level: number; msg: string; cause?: string }[] = []

  /** The one line a request answered as unavailable logs: a warning naming the cause, nothing at error level. */
  function expectLoggedUnavailable(cause: RegExp) {
    expect(logged.filter((line) => line.level >= 50)).toEqual([])
    const warned = logged.filter((line) => line.level === 40)
    expect(warned, JSON.stringify(logged)).toHaveLength(1)
    expect(warned[0]!.cause).toMatch(cause)
  }

  beforeAll(async () => {
    server = await startTestServer()
    f = await createFixture(server.ctx, 'bounded')
    // a second server on the same database, on a pool of one connection with short bounds
    db = connectPostgres(server.database.url, { max: 1, acquireTimeoutMs: 300, statementTimeoutMs: 1000 })
    const ctx = await createContext(server.ctx.config, {
      db,
      migrate: false,
      blobs: server.ctx.blobs,
      logger: pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) }),
    })
    app = await buildApp(ctx)
    baseUrl = await app.listen({ port: 0, host: '127.0.0.1' })
    admin = new pg.Client({ connectionString: server.database.url })
    await admin.connect()
  })

  afterAll(async () => {
    await admin?.end()
    await app?.close()
    await db?.close()
    await server?.close()
  })

  const listing = () =>
    fetch(`${baseUrl}/api/v1/trash?scope=own`, {
      headers: { authorization: basicAuth(f.users.editor!) },
      signal: AbortSignal.timeout(20_000),
    })

  it('a request that gets no connection within the acquire timeout is answered 503, then the pool serves again', async () => {
    expect((await listing()).status).toBe(200)
    logged.length = 0
    const held = await db.connect()
    let reply: Response
    try {
      reply = await listing()
    } finally {
      held.release()
    }
    expect(reply.status).toBe(503)
    expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/)
    expect(reply.headers.get('retry-after')).toBe('5')
    expect(await reply.json()).toMatchObject({ status: 503, code: 'UNAVAILABLE' })
    expectLoggedUnavailable(/^timeout exceeded when trying to connect/)
    expect((await listing()).status).toBe(200)
  })

  it('a statement past statement_timeout is answered 503 and rolled back', async () => {
    const { item } = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name: 'bounded.txt',
      brandId: f.brandId,
      ownerId: f.users.editor!.id,
    })
    await admin.query('begin')
    await admin.query('lock table items in exclusive mode')
    logged.length = 0
    let reply: Response
    try {
      reply = await fetch(`${baseUrl}/api/v1/items/trash`, {
        method: 'POST',
        headers: { authorization: basicAuth(f.users.editor!), 'content-type': 'application/json' },
        body: JSON.stringify({ ids: [item.id] }),
        signal: AbortSignal.timeout(20_000),
      })
    } finally {
      await admin.query('rollback')
    }
    expect(reply.status).toBe(503)
    expectLoggedUnavailable(/statement timeout/)
    const state = await admin.query<{ state: string }>('select state from items where id = $1', [item.id])
    expect(state.rows[0]!.state).toBe('active')
    expect((await listing()).status).toBe(200)
  })
})
