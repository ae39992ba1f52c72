import type net from 'node:net'
import pg from 'pg'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatementEvent } from '../src/db/database.js'
import { parseXml } from '../src/protocols/soap/xml.js'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { envelope, fault, logOn, postEnterprise } from './helpers/enterprise.js'
import { authHeader, bodyOf, COMMON_NS, ns, post as postIps, soap11 } from './helpers/ips.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

/**
 * The database connection dropped at each statement of each operation in turn: the statements an operation sends
 * are counted once (through the pool's statement watcher), then for k = 1..n the operation runs again on fresh
 * data and its connection is ended just before its k-th statement goes out. On PostgreSQL the backend is ended
 * with pg_terminate_backend, as a failover or an operator would; the embedded database serves its connection in
 * this process, so there the connection's socket is cut, as a network failure would. Every time: the request is
 * answered in its door's error format, the data is all-or-nothing per transaction (rows, states, audit rows,
 * operation rows, stored files), and the next request succeeds.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The rows of a tenant an operation may change, as comparable text. */
interface Snapshot {
  items: string[]
  audit: string[]
  operations: number
}

interface Answer {
  status: number
  type: string
  text: string
  retryAfter?: string | null
}

interface Operation<D> {
  /** fresh data for one run */
  prepare(): Promise<D>
  run(data: D): Promise<Answer>
  /** the answer of a run that went through */
  expectDone(answer: Answer): void
  /** the answer of a run whose connection was ended */
  expectRefused(answer: Answer): void
  /** several transactions (the purge protocol): after a drop, rows may wait in 'purging' for the cleanup job */
  steps?: boolean
}

describe('a database connection dropped at every statement of every operation', () => {
  let server: TestServer
  let admin: pg.Client | undefined
  const kinds = { postgres: Boolean(process.env.TEST_DATABASE_URL) }

  /** the server's log lines at warn and above */
  const logged: { level: number; msg: string; cause?: string; err?: unknown }[] = []

  beforeAll(async () => {
    const logger = pino({ level: 'warn' }, { write: (line: string) => logged.push(JSON.parse(line)) })
    // no credential cache: each run then sends the same statements, the credential reads among them; the job
    // runner's poll (every JOB_POLL_SECONDS) would fall among an operation's statements now and then
    server = await startTestServer({ AUTH_CACHE_SECONDS: '0', JOB_POLL_SECONDS: '3600' }, { logger })
    if (kinds.postgres) {
      admin = new pg.Client({ connectionString: server.database.url })
      await admin.connect()
    }
  })

  afterAll(async () => {
    await admin?.end()
    await server?.close()
  })

  /** Ends the connection a statement is about to go out on. */
  async function dropConnection(event: StatementEvent) {
    if (admin) {
      await admin.query('select pg_terminate_backend($1)', [event.processId])
      for (let tries = 0; tries < 200; tries++) {
        const alive = await admin.query('select 1 from pg_stat_activity where pid = $1', [event.processId])
        if (alive.rowCount === 0) return
        await sleep(10)
      }
      throw new Error(`backend ${event.processId} still alive`)
    }
    const stream = (event.client as unknown as { connection: { stream: net.Socket } }).connection.stream
    stream.destroy()
  }

  const q = <R extends pg.QueryResultRow>(text: string, values?: unknown[]) =>
    admin ? admin.query<R>(text, values) : server.ctx.db.query<R>(text, values)

  async function snapshot(tenantId: number): Promise<Snapshot> {
    const items = await q<{ row: string }>(
      `select concat_ws('|', id, state, parent_id, name, trash_root, blob_key) as row from items
        where tenant_id = $1 order by id`,
      [tenantId],
    )
    const audit = await q<{ row: string }>(
      `select concat_ws('|', item_id, action, unit_root) as row from audit where tenant_id = $1 order by 1`,
      [tenantId],
    )
    const operations = await q<{ n: number }>(
      'select count(*)::int as n from operations where tenant_id = $1',
      [tenantId],
    )
    return {
      items: items.rows.map((r) => r.row),
      audit: audit.rows.map((r) => r.row),
      operations: operations.rows[0]!.n,
    }
  }

  /** Stored files and rows agree: a row outside a purge has its file, and every file has its row. */
  async function filesAgree() {
    const keys = await q<{ key: string; state: string }>(
      `select blob_key as key, state from items where blob_key is not null
       union all select v.blob_key, coalesce(i.state, 'gone') from item_versions v
         left join items i on i.tenant_id = v.tenant_id and i.id = v.item_id`,
    )
    const stored = new Set((await server.ctx.blobs.list(null, 100_000)).map((blob) => blob.key))
    for (const row of keys.rows) {
      if (row.state !== 'purging') expect(stored.has(row.key), `file of a ${row.state} row`).toBe(true)
    }
    const referenced = new Set(keys.rows.map((row) => row.key))
    for (const key of stored) expect(referenced.has(key), `file ${key} without a row`).toBe(true)
  }

  /** Finishes what dropped purges left in 'purging', as the next cleanup run does once they are stale. */
  async function finishPurges(tenantId: number) {
    const report = await server.ctx.cleanup.run({ trigger: 'api', tenantId, staleAfterSeconds: 0 })
    expect(report?.run.status).toBe('succeeded')
    const left = await q<{ n: number }>(
      `select count(*)::int as n from items where tenant_id = $1 and state = 'purging'`,
      [tenantId],
    )
    expect(left.rows[0]!.n).toBe(0)
  }

  async function stillServing(f: Fixture) {
    const health = await fetch(`${server.baseUrl}/healthz`)
    expect(health.status).toBe(200)
    const listing = await fetch(`${server.baseUrl}/api/v1/trash?scope=own`, {
      headers: { authorization: basicAuth(f.users.editor!) },
    })
    expect(listing.status).toBe(200)
  }

  /** Runs the operation once to count its statements, then once per statement with the connection dropped there. */
  async function atEveryStatement<D>(f: Fixture, operation: Operation<D>) {
    const db = server.ctx.db
    const counted: string[] = []
    const first = await operation.prepare()
    let stop = db.watchStatements!((event) => {
      counted.push(event.text)
    })
    let answer: Answer
    try {
      answer = await operation.run(first)
    } finally {
      stop()
    }
    operation.expectDone(answer)
    expect(counted.length).toBeGreaterThan(1)
    if (operation.steps) await finishPurges(f.tenantId)

    for (let k = 1; k <= counted.length; k++) {
      const data = await operation.prepare()
      const before = await snapshot(f.tenantId)
      logged.length = 0
      let seen = 0
      let dropped: string | undefined
      stop = db.watchStatements!(async (event) => {
        if (++seen !== k) return
        dropped = event.text
        await dropConnection(event)
      })
      try {
        answer = await operation.run(data)
      } finally {
        stop()
      }
      const where = `dropped at statement ${k} of ${counted.length}: ${dropped?.slice(0, 80)}`
      expect(dropped, `statement ${k} of ${counted.length} never sent`).toBeDefined()
      try {
        operation.expectRefused(answer)
      } catch (error) {
        throw new Error(
          `${where}: ${(error as Error).message}\n${answer.status} ${answer.text.slice(0, 400)}`,
        )
      }
      // one warn line naming the cause, nothing at error level (an outage is not a bug)
      expect(
        logged.filter((line) => line.level === 40 && line.cause),
        `${where}: ${JSON.stringify(logged)}`,
      ).toHaveLength(1)
      expect(
        logged.filter((line) => line.level >= 50).map((line) => line.msg),
        where,
      ).toEqual([])
      const after = await snapshot(f.tenantId)
      await filesAgree()
      await stillServing(f)
      // the next request succeeds
      const again = await operation.run(data)
      expect(again.status, `${where}: retry ${again.text.slice(0, 300)}`).toBe(200)
      if (operation.steps) {
        await finishPurges(f.tenantId)
        await filesAgree()
        continue
      }
      operation.expectDone(again)
      const done = await snapshot(f.tenantId)
      // one transaction: nothing of it, or all of it (the retry then changed no row and wrote no audit row)
      const untouched =
        JSON.stringify([after.items, after.audit]) === JSON.stringify([before.items, before.audit])
      if (!untouched) expect([after.items, after.audit], where).toEqual([done.items, done.audit])
      expect(after.operations - before.operations, where).toBe(untouched ? 0 : 1)
    }
  }

  const tops = new Map<number, number>()

  /** A folder of two files, and a file beside it, each file with stored content; trashed when asked. */
  async function unit(f: Fixture, state: 'active' | 'trashed' | 'emptied' = 'active') {
    const { admin: service } = server.ctx
    const owner = f.users.editor!
    const tag = Math.random().toString(36).slice(2, 10)
    // only an administrator may trash a top-level folder: the units live in one
    let top = tops.get(f.tenantId)
    if (top === undefined) {
      top = (await service.createItem(f.tenantId, { kind: 'folder', name: 'top', brandId: f.brandId })).item
        .id
      tops.set(f.tenantId, top)
    }
    const folder = await service.createItem(f.tenantId, {
      kind: 'folder',
      name: `folder-${tag}`,
      parentId: top,
      brandId: f.brandId,
      ownerId: owner.id,
    })
    const ids = [folder.item.id]
    for (const name of ['a', 'b']) {
      await service.createItem(f.tenantId, {
        kind: 'file',
        name: `${name}-${tag}.txt`,
        parentId: folder.item.id,
        brandId: f.brandId,
        ownerId: owner.id,
        content: Buffer.from(`${name} ${tag}`),
      })
    }
    const file = await service.createItem(f.tenantId, {
      kind: 'file',
      name: `c-${tag}.txt`,
      parentId: top,
      brandId: f.brandId,
      ownerId: owner.id,
      content: Buffer.from(`c ${tag}`),
    })
    ids.push(file.item.id)
    if (state !== 'active') {
      const trashed = await server.ctx.trash.trash(owner.actor, ids)
      expect(trashed.errorCount).toBe(0)
    }
    if (state === 'emptied') {
      const emptied = await server.ctx.trash.empty(f.users.purger!.actor, ids)
      expect(emptied.errorCount).toBe(0)
    }
    return ids
  }

  async function rest(method: string, path: string, authorization: string, body?: unknown): Promise<Answer> {
    const response = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: {
        authorization,
        'x-requested-with': 'fetch',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    })
    return {
      status: response.status,
      type: response.headers.get('content-type') ?? '',
      retryAfter: response.headers.get('retry-after'),
      text: await response.text(),
    }
  }

  /** REST: 503 problem, code UNAVAILABLE, Retry-After. */
  function restUnavailable(answer: Answer) {
    expect(answer.status).toBe(503)
    expect(answer.type).toMatch(/^application\/problem\+json/)
    expect(answer.retryAfter).toBe('5')
    expect(JSON.parse(answer.text)).toMatchObject({ status: 503, code: 'UNAVAILABLE' })
  }

  function batchOk(answer: Answer) {
    expect(answer.status, answer.text).toBe(200)
    expect(JSON.parse(answer.text), answer.text).toMatchObject({ errorCount: 0 })
  }

  async function fixture(name: string) {
    return createFixture(server.ctx, `steps-${name}`)
  }

  it('REST trash', async () => {
    const f = await fixture('trash')
    await atEveryStatement(f, {
      prepare: () => unit(f),
      run: (ids) => rest('POST', '/api/v1/items/trash', basicAuth(f.users.editor!), { ids }),
      expectDone: batchOk,
      expectRefused: restUnavailable,
    })
  })

  it('REST restore', async () => {
    const f = await fixture('restore')
    await atEveryStatement(f, {
      prepare: () => unit(f, 'trashed'),
      run: (ids) => rest('POST', '/api/v1/trash/restore', basicAuth(f.users.editor!), { ids }),
      expectDone: (answer) => {
        expect(answer.status, answer.text).toBe(200)
        expect(JSON.parse(answer.text)).toMatchObject({ errorCount: 0 })
      },
      expectRefused: restUnavailable,
    })
  })

  it('REST empty', async () => {
    const f = await fixture('empty')
    await atEveryStatement(f, {
      prepare: () => unit(f, 'trashed'),
      run: (ids) => rest('POST', '/api/v1/trash/empty', basicAuth(f.users.purger!), { ids }),
      expectDone: batchOk,
      expectRefused: restUnavailable,
    })
  })

  it('REST purge', async () => {
    const f = await fixture('purge')
    await atEveryStatement(f, {
      prepare: () => unit(f, 'trashed'),
      run: (ids) => rest('POST', '/api/v1/trash/purge', basicAuth(f.users.purger!), { ids }),
      expectDone: batchOk,
      expectRefused: restUnavailable,
      steps: true,
    })
  })

  it("REST empty the user's own bin", async () => {
    const f = await fixture('bin')
    await server.ctx.admin.setAccess(f.tenantId, f.brandId, f.users.editor!.id, {
      view: true,
      delete: true,
      purge: true,
    })
    await atEveryStatement(f, {
      prepare: () => unit(f, 'trashed'),
      run: () => rest('POST', '/api/v1/bin/empty', basicAuth(f.users.editor!)),
      expectDone: (answer) => {
        expect(answer.status, answer.text).toBe(200)
        expect(JSON.parse(answer.text)).toMatchObject({ errorCount: 0 })
      },
      expectRefused: restUnavailable,
      steps: true,
    })
  })

  it('REST listing', async () => {
    const f = await fixture('listing')
    await unit(f, 'trashed')
    await atEveryStatement(f, {
      prepare: async () => null,
      run: () => rest('GET', '/api/v1/trash?scope=own', basicAuth(f.users.editor!)),
      expectDone: (answer) => {
        expect(answer.status, answer.text).toBe(200)
        expect(JSON.parse(answer.text).total).toBe(2)
      },
      expectRefused: restUnavailable,
    })
  })

  it('cleanup run (REST, waiting for it)', async () => {
    const f = await fixture('cleanup')
    await atEveryStatement(f, {
      prepare: () => unit(f, 'emptied'),
      run: () =>
        rest('POST', '/api/v1/cleanup/run', `Bearer ${ADMIN_TOKEN}`, { tenantId: f.tenantId, wait: true }),
      expectDone: (answer) => {
        expect(answer.status, answer.text).toBe(200)
        expect(JSON.parse(answer.text).run).toMatchObject({ status: 'succeeded' })
      },
      // refused before the run started, or a run recorded as failed
      expectRefused: (answer) => {
        if (answer.status === 503) return restUnavailable(answer)
        expect(answer.status).toBe(200)
        expect(JSON.parse(answer.text).run).toMatchObject({ status: 'failed' })
      },
      steps: true,
    })
  })

  it('IPS restoreAssetsFromTrash', async () => {
    const f = await fixture('ips')
    await atEveryStatement(f, {
      prepare: () => unit(f, 'trashed'),
      run: async (ids) => {
        const operation =
          `<restoreAssetsFromTrashParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${f.tenantId}</companyHandle>` +
          `<assetHandleArray>${ids.map((id) => `<items>a|${id}</items>`).join('')}</assetHandleArray></restoreAssetsFromTrashParam>`
        const reply = await postIps(
          server.baseUrl,
          '/scene7/services/IpsApiService',
          soap11(operation, authHeader(f.users.editor!)),
        )
        return { status: reply.status, type: reply.contentType, text: reply.text }
      },
      expectDone: (answer) => {
        expect(answer.status, answer.text).toBe(200)
        expect(answer.text).toMatch(/<successCount>2<\/successCount>/)
      },
      expectRefused: (answer) => {
        expect(answer.status).toBe(500)
        const body = bodyOf(parseXml(answer.text))
        expect(body.name).toBe('Fault')
        const detail = body.children.find((c) => c.name === 'detail')!.children[0]!
        expect(detail).toMatchObject({ name: 'ipsApiFault', ns: COMMON_NS })
      },
    })
  })

  it('Enterprise DeleteObjects', async () => {
    const f = await fixture('enterprise')
    const ticket = await logOn(server, f.users.editor!)
    await atEveryStatement(f, {
      prepare: () => unit(f),
      run: async (ids) => {
        const reply = await postEnterprise(
          server,
          envelope(
            `<ns1:DeleteObjects><Ticket>${ticket}</Ticket><IDs>${ids.map((id) => `<String>${id}</String>`).join('')}</IDs><Permanent>false</Permanent></ns1:DeleteObjects>`,
          ),
        )
        return { status: reply.status, type: reply.type ?? '', text: reply.text }
      },
      expectDone: (answer) => {
        expect(answer.status, answer.text).toBe(200)
        expect(answer.text).toMatch(/DeleteObjectsResponse/)
        expect(answer.text).not.toMatch(/ErrorReport/)
      },
      expectRefused: (answer) => {
        expect(fault(answer.text).faultcode).toBe('SOAP-ENV:Server')
      },
    })
  })

  it('srv.asmx GetRecycleBinContent (streamed listing)', async () => {
    const f = await fixture('asmx')
    await unit(f, 'trashed')
    const ticket = await asmxTicket(server.baseUrl, f.users.editor!)
    await atEveryStatement(f, {
      prepare: async () => null,
      run: async () => {
        const reply = await asmx(server.baseUrl, 'GET', 'GetRecycleBinContent', {
          AuthenticationTicket: ticket,
        })
        return { status: reply.status, type: reply.contentType, text: reply.text }
      },
      expectDone: (answer) => {
        expect(answer.status, answer.text).toBe(200)
        expect(answer.text).toMatch(/success="true"/)
      },
      expectRefused: (answer) => {
        expect(answer.status).toBe(200)
        expect(answer.text).toMatch(/<response success="false" error="/)
      },
    })
  })
})
