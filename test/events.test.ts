import { createHash } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../src/config.js'
import { type AppContext, createContext } from '../src/context.js'
import { connectPostgres, type Database } from '../src/db/database.js'
import { buildApp } from '../src/http/app.js'
import { usingRealPostgres } from './helpers/db.js'
import { deleteObjects, envelope, ids, logOn, postEnterprise } from './helpers/enterprise.js'
import { articleFile } from './helpers/items.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  TEST_PASSWORD_HASH_COST,
  type TestServer,
} from './helpers/server.js'

let server: TestServer
let f: Fixture
let other: Fixture
/** the instance the SSE clients talk to: a second server on the same database (PostgreSQL) */
let second: { app: FastifyInstance; ctx: AppContext; db: Database; baseUrl: string } | null = null
let streamBase: string

interface SseMessage {
  id: string
  event: string
  data: {
    EventHeaders: { EventVersion: number; EventId: number; EventType: string }
    EventData: Record<string, string>
  }
}

/** An SSE client over fetch: collects messages as they arrive. */
async function openStream(user: { login: string; password: string }, headers: Record<string, string> = {}) {
  const controller = new AbortController()
  const response = await fetch(`${streamBase}/api/v1/events`, {
    headers: { authorization: basicAuth(user), accept: 'text/event-stream', ...headers },
    signal: controller.signal,
  })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8')
  const messages: SseMessage[] = []
  const waiters: (() => void)[] = []
  const decoder = new TextDecoder()
  let buffer = ''
  const reader = response.body!.getReader()
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        buffer += decoder.decode(value, { stream: true })
        let end = buffer.indexOf('\n\n')
        while (end >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const fields = Object.fromEntries(
            block
              .split('\n')
              .filter((line) => line && !line.startsWith(':'))
              .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]),
          )
          if (fields.data)
            messages.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) })
          for (const wake of waiters.splice(0)) wake()
          end = buffer.indexOf('\n\n')
        }
      }
    } catch {
      // aborted
    }
  })()
  return {
    messages,
    /** resolves once at least n messages arrived (generous deadline: delivery crosses two servers) */
    async waitFor(n: number) {
      const deadline = Date.now() + 15_000
      while (messages.length < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} events, got ${JSON.stringify(messages)}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 250)
        })
      }
      return messages
    },
    close: () => controller.abort(),
  }
}

const item = (name: string, fixture = f) => articleFile(server.ctx, fixture, name)

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'sse', 'enterprise')
  other = await createFixture(server.ctx, 'sso', 'enterprise')
  if (usingRealPostgres()) {
    // a second server instance: its own pool, event bus and HTTP listener, on the first one's database
    const config = loadConfig({
      DATA_DIR: server.dataDir,
      ADMIN_TOKEN,
      LOG_LEVEL: 'silent',
      CLEANUP_SCHEDULE: 'off',
      PASSWORD_HASH_COST: TEST_PASSWORD_HASH_COST,
    })
    const db = connectPostgres(server.database.url, { max: 4 })
    const ctx = await createContext(config, {
      db,
      migrate: false,
      logger: pino({ level: 'silent' }),
    })
    const app = await buildApp(ctx)
    second = { app, ctx, db, baseUrl: await app.listen({ port: 0, host: '127.0.0.1' }) }
    streamBase = second.baseUrl
  } else {
    // embedded PGlite belongs to one process: the stream comes from the same server (its bus polls the audit log)
    streamBase = server.baseUrl
  }
})

afterAll(async () => {
  if (second) {
    await second.app.close()
    await second.ctx.close()
  }
  await server?.close()
})

describe('events over the audit log and SSE', () => {
  it(`an SSE client of ${usingRealPostgres() ? 'a second server instance' : 'the server'} receives #4 and #23 with the v8 properties`, async () => {
    const stream = await openStream(f.users.editor!)
    const id = await item('evented article')
    const ticket = await logOn(server, f.users.purger!)
    await postEnterprise(server, deleteObjects(ticket, { ids: [id], permanent: false, areas: ['Workflow'] }))
    await postEnterprise(
      server,
      envelope(`<ns1:RestoreObjects><Ticket>${ticket}</Ticket>${ids([id])}</ns1:RestoreObjects>`),
    )
    await postEnterprise(server, deleteObjects(ticket, { ids: [id], permanent: true, areas: ['Workflow'] }))
    // another tenant's activity never reaches this stream
    const foreign = await item('other tenant', other)
    await server.ctx.trash.trash(other.users.admin!.actor, [foreign])

    const [trashed, restored, purged, ...rest] = await stream.waitFor(3)
    stream.close()
    expect(rest).toEqual([])
    const audit = await server.database.db.query(
      "select id, action from audit where tenant_id = $1 and item_id = $2 and action in ('trash', 'restore', 'purge') order by id",
      [f.tenantId, id],
    )
    expect(audit.rows.map((row) => row.action)).toEqual(['trash', 'restore', 'trash', 'purge'])

    expect(trashed!.event).toBe('DeleteObject')
    expect(trashed!.id).toBe(String(audit.rows[0].id))
    expect(trashed!.data.EventHeaders).toEqual({ EventVersion: 1, EventId: 4, EventType: 'DeleteObject' })
    const deleted = trashed!.data.EventData.Deleted!
    expect(deleted).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
    // the properties in Enterprise's order (n-casting keeps it), Ticket naming the session that acted
    expect(Object.entries(trashed!.data.EventData)).toEqual([
      ['Ticket', createHash('md5').update(ticket).digest('hex').slice(0, 12)],
      ['ID', String(id)],
      ['Name', 'evented article'],
      ['Type', 'Article'],
      ['PublicationId', String(f.brandId)],
      ['SectionId', ''],
      ['StateId', ''],
      ['RouteTo', ''],
      ['LockedBy', ''],
      ['Deleter', f.users.purger!.login],
      ['Deleted', deleted],
      ['Version', '0.1'],
      ['Format', ''],
      ['IssueIds', ''],
      ['EditionIds', ''],
      ['UserId', 'sse purger'],
      ['Permanent', 'false'],
    ])

    expect(restored!.event).toBe('RestoreObject')
    expect(restored!.data.EventHeaders.EventId).toBe(23)
    expect(restored!.data.EventData).toMatchObject({
      ID: String(id),
      Name: 'evented article',
      Deleted: deleted,
      Deleter: f.users.purger!.login,
      Modifier: f.users.purger!.login,
    })
    expect(restored!.data.EventData).not.toHaveProperty('Permanent')

    // a permanent delete from the workflow is one #4 with Permanent true (its trash half is no event)
    expect(purged!.event).toBe('DeleteObject')
    expect(purged!.id).toBe(String(audit.rows[3].id))
    expect(purged!.data.EventData).toMatchObject({
      ID: String(id),
      Permanent: 'true',
      Deleter: f.users.purger!.login,
    })
  })

  it('resumes after Last-Event-ID from the audit log, then goes on live', async () => {
    const first = await item('resume one')
    const secondItem = await item('resume two')
    await server.ctx.trash.trash(f.users.editor!.actor, [first])
    const mark = await server.database.db.query(
      "select max(id) as id from audit where tenant_id = $1 and action = 'trash' and item_id = $2",
      [f.tenantId, first],
    )
    await server.ctx.trash.trash(f.users.editor!.actor, [secondItem])
    await server.ctx.trash.restore(f.users.editor!.actor, [first])

    const stream = await openStream(f.users.viewer!, { 'last-event-id': String(mark.rows[0].id) })
    const replayed = await stream.waitFor(2)
    expect(replayed.map((m) => [m.event, m.data.EventData.ID])).toEqual([
      ['DeleteObject', String(secondItem)],
      ['RestoreObject', String(first)],
    ])
    await server.ctx.trash.restore(f.users.editor!.actor, [secondItem])
    const all = await stream.waitFor(3)
    stream.close()
    expect(all.slice(2).map((m) => [m.event, m.data.EventData.ID])).toEqual([
      ['RestoreObject', String(secondItem)],
    ])
    expect(new Set(all.map((m) => m.id)).size).toBe(all.length)
    expect(all.map((m) => Number(m.id))).toEqual([...all.map((m) => Number(m.id))].sort((x, y) => x - y))
  })

  it(
    'a row whose transaction commits after later rows is still delivered',
    needs(POSTGRES, 'two transactions at once (the embedded database serves one connection)'),
    async () => {
      const stream = await openStream(f.users.admin!)
      const early = await item('committed late')
      const later = await item('committed first')
      // a writer that takes its audit id first and commits last
      const writer = await server.database.db.connect()
      try {
        await writer.query('begin')
        await writer.query(
          `insert into audit (tenant_id, door, action, item_id, item_kind, item_type, item_name)
           values ($1, 'rest', 'trash', $2, 'file', 'Article', 'committed late')`,
          [f.tenantId, early],
        )
        await server.ctx.trash.trash(f.users.admin!.actor, [later])
        const [first] = await stream.waitFor(1)
        expect(first!.data.EventData.ID).toBe(String(later))
        await writer.query('commit')
      } finally {
        writer.release()
      }
      const all = await stream.waitFor(2)
      stream.close()
      expect(all.map((m) => m.data.EventData.ID)).toEqual([String(later), String(early)])
      expect(Number(all[1]!.id)).toBeLessThan(Number(all[0]!.id))
    },
  )

  it(
    'connections cut under the event reader: what committed meanwhile is still delivered',
    needs(POSTGRES, "terminates the instance's PostgreSQL connections"),
    async () => {
      const reader = second?.db ?? server.database.db
      const stream = await openStream(f.users.admin!)
      const terminated = await server.database.db.query(
        `select pg_terminate_backend(pid) from pg_stat_activity
          where datname = current_database() and application_name = $1`,
        [reader.origin],
      )
      expect(terminated.rows.length).toBeGreaterThanOrEqual(1)
      const id = await item('while reconnecting')
      await server.ctx.trash.trash(f.users.admin!.actor, [id])
      const [message] = await stream.waitFor(1)
      stream.close()
      expect(message!.event).toBe('DeleteObject')
      expect(message!.data.EventData.ID).toBe(String(id))
    },
  )

  it('a stream that replays from Last-Event-ID gets a change the event reader had not read yet once, not twice', async () => {
    // another stream keeps the instance's event reader going
    const keeper = await openStream(f.users.admin!)
    const mark = await server.database.db.query<{ id: number }>(
      'select coalesce(max(id), 0)::int as id from audit where tenant_id = $1',
      [f.tenantId],
    )
    const id = await item('read by the replay')
    await server.ctx.trash.trash(f.users.admin!.actor, [id])
    const stream = await openStream(f.users.admin!, { 'last-event-id': String(mark.rows[0]!.id) })
    await stream.waitFor(1)
    // a few of the reader's rounds later, still one
    await new Promise((resolve) => setTimeout(resolve, 800))
    stream.close()
    keeper.close()
    expect(stream.messages.map((m) => m.data.EventData.ID)).toEqual([String(id)])
  })

  it('writers pay nothing for events: the audit table has no trigger and nothing is notified', async () => {
    const triggers = await server.database.db.query(
      `select tgname from pg_trigger where tgrelid = 'audit'::regclass and not tgisinternal`,
    )
    expect(triggers.rows).toEqual([])
  })

  it("delivers each change to another instance's stream within a second", async () => {
    const stream = await openStream(f.users.admin!)
    const rounds = 10
    const delays: number[] = []
    for (let round = 0; round < rounds; round++) {
      const id = await item(`delay ${round}`)
      await server.ctx.trash.trash(f.users.admin!.actor, [id])
      const committed = performance.now()
      await stream.waitFor(round + 1)
      delays.push(performance.now() - committed)
      expect(stream.messages[round]!.data.EventData.ID).toBe(String(id))
    }
    stream.close()
    delays.sort((a, b) => a - b)
    console.log(
      `event delivery delay to ${second ? 'a second instance' : 'the same embedded instance'} over ${rounds} changes: median ${delays[rounds / 2]!.toFixed(0)} ms, max ${delays[rounds - 1]!.toFixed(0)} ms`,
    )
    expect(delays[rounds - 1]).toBeLessThan(1000)
  })

  it('shows a user only the events of items it may see, live and replayed; rights are read again', async () => {
    const mark = await server.database.db.query<{ id: number }>(
      'select coalesce(max(id), 0)::int as id from audit where tenant_id = $1',
      [f.tenantId],
    )
    const outsider = f.users.outsider!
    const live = await openStream(outsider)
    const viewerLive = await openStream(f.users.viewer!)
    // in the fixture's brand, where the outsider has no rights
    const hidden = await item('brand item the outsider may not see')
    await server.ctx.trash.trash(f.users.editor!.actor, [hidden])
    // outside any brand, owned by the outsider: its own, trashed by the editor and purged by an admin
    const owned = (
      await server.ctx.admin.createItem(f.tenantId, {
        kind: 'file',
        name: 'owned by the outsider',
        ownerId: outsider.id,
      })
    ).item.id
    await server.ctx.trash.trash(f.users.editor!.actor, [owned])
    await server.ctx.trash.purge(f.users.admin!.actor, [owned])

    const seen = await live.waitFor(2)
    const all = await viewerLive.waitFor(3)
    expect(seen.map((m) => [m.event, m.data.EventData.ID, m.data.EventData.Permanent])).toEqual([
      ['DeleteObject', String(owned), 'false'],
      ['DeleteObject', String(owned), 'true'],
    ])
    expect(all.map((m) => m.data.EventData.ID)).toEqual([String(hidden), String(owned), String(owned)])

    // the replay from the audit log applies the same rule
    const replay = await openStream(outsider, { 'last-event-id': String(mark.rows[0]!.id) })
    expect((await replay.waitFor(2)).map((m) => m.data.EventData.ID)).toEqual([String(owned), String(owned)])
    replay.close()

    // granted view on the brand: a stream opened now shows the brand's events too
    await server.ctx.admin.setAccess(f.tenantId, f.brandId, outsider.id, {
      view: true,
      delete: false,
      purge: false,
    })
    try {
      const granted = await openStream(outsider, { 'last-event-id': String(mark.rows[0]!.id) })
      expect((await granted.waitFor(3)).map((m) => m.data.EventData.ID)).toEqual([
        String(hidden),
        String(owned),
        String(owned),
      ])
      granted.close()
    } finally {
      await server.ctx.admin.setAccess(f.tenantId, f.brandId, outsider.id, {
        view: false,
        delete: false,
        purge: false,
      })
    }
    // nothing else reached the first stream meanwhile
    live.close()
    viewerLive.close()
    expect(seen.length).toBe(2)
  })

  it('needs a signed-in user and a numeric Last-Event-ID', async () => {
    expect((await fetch(`${streamBase}/api/v1/events`)).status).toBe(401)
    const bad = await fetch(`${streamBase}/api/v1/events`, {
      headers: { authorization: basicAuth(f.users.viewer!), 'last-event-id': 'x; drop table audit' },
    })
    expect(bad.status).toBe(400)
  })
})
