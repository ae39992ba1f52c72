import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { needs, POSTGRES } from './helpers/requirements.js'
import { basicAuth, createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * A one-item operation reaches its rows by key whatever the table's statistics say. With every file of a tenant
 * in one folder, parent_id has one common value, and a statement that walks "children of the moved item" was
 * planned as a hash join over the tenant's whole table: a one-file delete took 90 ms among 190,000 siblings.
 * The plans are read from PostgreSQL (EXPLAIN of the very statements the request sent), so this runs there.
 */
describe('single-item plans', needs(POSTGRES, 'reads the plans PostgreSQL makes'), () => {
  let server: TestServer
  let f: Fixture
  let admin: pg.Client
  let folderId: number
  const SIBLINGS = 20_000

  beforeAll(async () => {
    server = await startTestServer()
    f = await createFixture(server.ctx, 'plans')
    admin = new pg.Client({ connectionString: server.database.url })
    await admin.connect()
    const folder = await admin.query<{ id: number }>(
      `insert into items (tenant_id, kind, type, name, brand_id) values ($1, 'folder', 'Folder', 'lib', $2)
       returning id::int`,
      [f.tenantId, f.brandId],
    )
    folderId = folder.rows[0]!.id
    await admin.query(
      `insert into items (tenant_id, kind, type, name, brand_id, size, parent_id)
       select $1, 'file', 'Document', 'sibling-' || g || '.pdf', $2, 10, $3 from generate_series(1, $4::int) g`,
      [f.tenantId, f.brandId, folderId, SIBLINGS],
    )
    await admin.query('analyze items')
  })

  afterAll(async () => {
    await admin?.end()
    await server?.close()
  })

  /** The statements (text and values) the server sends while `fn` runs. */
  async function statementsOf(fn: () => Promise<void>): Promise<{ text: string; values: unknown[] }[]> {
    const sent: { text: string; values: unknown[] }[] = []
    const stop = server.ctx.db.watchStatements!((event) => {
      sent.push({ text: event.text, values: event.values })
    })
    try {
      await fn()
    } finally {
      stop()
    }
    return sent
  }

  interface PlanNode {
    'Node Type': string
    'Relation Name'?: string
    'Actual Loops': number
    'Actual Rows': number
    'Rows Removed by Filter'?: number
    Plans?: PlanNode[]
  }
  const nodesOf = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodesOf)]

  async function siblingId(n: number): Promise<number> {
    const row = await admin.query<{ id: number }>(
      `select id::int from items where tenant_id = $1 and parent_id = $2 and name = $3`,
      [f.tenantId, folderId, `sibling-${n}.pdf`],
    )
    return row.rows[0]!.id
  }

  /**
   * Runs the statements a request sent again, for another sibling (`id` and the sibling's name swapped for
   * `other`'s), with EXPLAIN ANALYZE in a transaction rolled back; answers the scans of items or audit that read
   * a tenth of the folder or more. A plan may hold a scan that would read a table whole, as long as it stops at
   * once (no folder to walk). The operation's own row is keyed by the request's operation id: not written twice
   * (a statement of its own is left out; one that writes it with the change runs under another id).
   */
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

  /** A value as an SQL literal (EXECUTE's arguments), arrays as array literals. */
  const literal = (value: unknown): string => {
    if (value === null || value === undefined) return 'null'
    if (Array.isArray(value))
      return admin.escapeLiteral(
        `{${value.map((v) => `"${String(v).replace(/["\\]/g, '\\$&')}"`).join(',')}}`,
      )
    if (value instanceof Date) return admin.escapeLiteral(value.toISOString())
    return admin.escapeLiteral(String(value))
  }

  /**
   * `generic`: the plan a named statement settles on after a few runs (PostgreSQL's generic plan, made without
   * the values), read with PREPARE and EXPLAIN EXECUTE under plan_cache_mode = force_generic_plan.
   */
  async function wideScans(
    sent: { text: string; values: unknown[] }[],
    swap: (value: unknown) => unknown,
    { generic = false } = {},
  ) {
    const planned = sent.filter(
      (s) => !/^\s*(begin|commit|rollback)\b|set_config|^\s*insert into operations\b/i.test(s.text),
    )
    expect(planned.length).toBeGreaterThan(0)
    // a lone item's statement writes its operation's row too: run again under another operation id
    const operationIds = new Map<string, string>()
    const renamed = (value: unknown) =>
      typeof value === 'string' && UUID.test(value)
        ? (operationIds.get(value) ?? operationIds.set(value, randomUUID()).get(value))
        : swap(value)
    const scans: string[] = []
    await admin.query('begin')
    try {
      for (const statement of planned) {
        const values = statement.values.map((value) =>
          Array.isArray(value) ? value.map(renamed) : renamed(value),
        )
        let plan: pg.QueryResult<{ 'QUERY PLAN': { Plan: PlanNode }[] }>
        if (generic) {
          await admin.query(`prepare plan_probe as ${statement.text}`)
          await admin.query('set local plan_cache_mode = force_generic_plan')
          plan = await admin.query(
            `explain (analyze, format json) execute plan_probe(${values.map(literal).join(', ')})`,
          )
          await admin.query('deallocate plan_probe')
        } else {
          plan = await admin.query(`explain (analyze, format json) ${statement.text}`, values)
        }
        for (const node of nodesOf(plan.rows[0]!['QUERY PLAN'][0]!.Plan))
          if (
            /Scan$/.test(node['Node Type']) &&
            node['Actual Loops'] * (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0)) >=
              SIBLINGS / 10 &&
            ['items', 'audit'].includes(node['Relation Name'] ?? '')
          )
            scans.push(
              `${node['Node Type']} of ${node['Relation Name']} in: ${statement.text.replace(/\s+/g, ' ').slice(0, 120)}`,
            )
      }
    } finally {
      await admin.query('rollback')
    }
    return scans
  }

  it('a one-file delete among 20,000 siblings reads no table whole', async () => {
    const editor = f.users.editor!
    const id = await siblingId(1)
    const sent = await statementsOf(async () => {
      const reply = await fetch(`${server.baseUrl}/api/v1/items/${id}/trash`, {
        method: 'POST',
        headers: { authorization: basicAuth(editor), 'x-requested-with': 'XMLHttpRequest' },
      })
      expect(reply.status, await reply.text()).toBe(200)
    })
    const state = await admin.query('select state from items where id = $1', [id])
    expect(state.rows[0]!.state).toBe('trashed')
    const other = await siblingId(2)
    expect(await wideScans(sent, (value) => (value === id ? other : value))).toEqual([])
  })

  it('a srv.asmx DeleteDocument by path among 20,000 siblings finds the file by its name, not by reading the folder', async () => {
    const editor = f.users.editor!
    const id = await siblingId(3)
    const ticket = await asmxTicket(server.baseUrl, editor)
    const sent = await statementsOf(async () => {
      const answer = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
        AuthenticationTicket: ticket,
        Path: '\\lib\\sibling-3.pdf',
      })
      expect(answer.success, answer.text).toBe('true')
    })
    const state = await admin.query('select state from items where id = $1', [id])
    expect(state.rows[0]!.state).toBe('trashed')
    const other = await siblingId(4)
    const swap = (value: unknown) =>
      value === id ? other : value === 'sibling-3.pdf' ? 'sibling-4.pdf' : value
    expect(await wideScans(sent, swap)).toEqual([])
  })

  it('a srv.asmx DeleteDocument by path goes as a named statement once sent a few times, and its generic plan finds the file by its name', async () => {
    const editor = f.users.editor!
    const ticket = (
      await asmx(server.baseUrl, 'GET', 'AuthenticateUser', { UID: editor.login, PWD: editor.password })
    ).response.attrs.ticket!
    // how each statement was handed to the driver: named (prepared once per connection) or not (planned each time)
    const prototype = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown }
    const query = prototype.query
    const handed: { name?: string; text: string }[] = []
    prototype.query = function (this: unknown, ...args: unknown[]) {
      const first = args[0] as string | { name?: string; text: string }
      handed.push(typeof first === 'string' ? { text: first } : first)
      return query.apply(this, args)
    }
    let sent: { text: string; values: unknown[] }[] = []
    try {
      for (const n of [10, 11, 12, 13, 14]) {
        sent = await statementsOf(async () => {
          const answer = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
            AuthenticationTicket: ticket,
            Path: `\\lib\\sibling-${n}.pdf`,
          })
          expect(answer.success, answer.text).toBe('true')
        })
      }
    } finally {
      prototype.query = query
    }
    const deletes = handed.filter((h) => h.text.includes("set state = 'trashed'"))
    expect(deletes).toHaveLength(5)
    expect(deletes.at(-1)!.name, 'the last DeleteDocument was planned afresh').toBeDefined()
    const id = await siblingId(14)
    const other = await siblingId(15)
    const swap = (value: unknown) =>
      value === id ? other : value === 'sibling-14.pdf' ? 'sibling-15.pdf' : value
    expect(await wideScans(sent, swap, { generic: true })).toEqual([])
  })
})
