import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { deleteObjects, handledIds, logOn, postEnterprise } from './helpers/enterprise.js'
import { authHeader, ns, post, soap11 } from './helpers/ips.js'
import { restApi } from './helpers/rest.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/**
 * Every request that trashes, restores, empties or purges is one operation: a row saying who, through which door
 * and client, how it went, and every audit row it wrote carries the operation's id. Shown through
 * GET /api/v1/operations[/:id] to the actor, and to the tenant's administrators.
 */

let server: TestServer
let fx: Fixture

interface OperationJson {
  id: string
  actor: { id: number; login: string } | null
  door: string
  action: string
  client: string | null
  remoteAddress: string | null
  startedAt: string
  finishedAt: string
  requested: number
  outcomes: { ok: number; warning: number; error: number }
  items: number
  units?: {
    itemId: number
    name: string
    items: number
    state: string | null
    stillTrashed: boolean
    action: string
  }[]
  next?: unknown
}

const make = async (kind: 'file' | 'folder', name: string, parentId: number | null = null) =>
  (
    await server.ctx.admin.createItem(fx.tenantId, {
      kind,
      name,
      parentId,
      brandId: fx.brandId,
      ownerId: fx.users.editor!.id,
      ...(kind === 'file' ? { content: Buffer.from(`content of ${name}`) } : {}),
    })
  ).item.id

const api = restApi(
  () => server,
  () => fx,
)

const operationsOf = async (role: string, query = '') => {
  const answer = await api(role, 'GET', `/operations${query}`)
  expect(answer.status, answer.text).toBe(200)
  return answer.json.operations as OperationJson[]
}

const auditOperationIds = async (itemIds: number[], action: string) =>
  (
    await server.database.db.query(
      'select item_id, operation_id from audit where tenant_id = $1 and item_id = any($2::bigint[]) and action = $3 order by id',
      [fx.tenantId, itemIds, action],
    )
  ).rows as { item_id: number; operation_id: string | null }[]

let library = 0
let folder = 0
let inFolder: number[] = []
let loose = 0
let trashOp: OperationJson

beforeAll(async () => {
  server = await startTestServer()
  fx = await createFixture(server.ctx, 'ops')
  library = await make('folder', 'Library')
  folder = await make('folder', 'Projects', library)
  inFolder = [await make('file', 'a.txt', folder), await make('file', 'b.txt', folder)]
  loose = await make('file', 'loose.txt')
})

afterAll(async () => {
  await server?.close()
})

describe('operations', () => {
  it('a REST trash is one operation: door, client, address, outcomes, items; its audit rows carry its id', async () => {
    const answer = await api(
      'editor',
      'POST',
      '/items/trash',
      { ids: [folder, loose, 987654321] },
      {
        'user-agent': 'ops-test/1.0',
      },
    )
    expect(answer.status, answer.text).toBe(200)
    const [op] = await operationsOf('editor')
    expect(op).toMatchObject({
      actor: { id: fx.users.editor!.id, login: fx.users.editor!.login },
      door: 'rest',
      action: 'trash',
      client: 'ops-test/1.0',
      remoteAddress: '127.0.0.1',
      requested: 3,
      outcomes: { ok: 2, warning: 0, error: 1 },
      items: 4,
    })
    expect(Date.parse(op!.finishedAt)).toBeGreaterThanOrEqual(Date.parse(op!.startedAt))
    trashOp = op!
    // rows in the database: the operation, and every audit row of the request naming it
    const row = await server.database.db.query('select * from operations where tenant_id = $1 and id = $2', [
      fx.tenantId,
      op!.id,
    ])
    expect(row.rows).toHaveLength(1)
    expect(row.rows[0]).toMatchObject({ door: 'rest', action: 'trash', items: 4, error_count: 1 })
    const audit = await auditOperationIds([folder, loose, ...inFolder], 'trash')
    expect(audit).toHaveLength(4)
    expect(new Set(audit.map((a) => a.operation_id))).toEqual(new Set([op!.id]))
  })

  it('GET /operations/:id lists the units it changed, a folder once with its members, with their state now', async () => {
    const answer = await api('editor', 'GET', `/operations/${trashOp.id}`)
    expect(answer.status, answer.text).toBe(200)
    expect(answer.json).toMatchObject({ id: trashOp.id, action: 'trash', items: 4, next: null })
    const units = answer.json.units as NonNullable<OperationJson['units']>
    expect(units.map((u) => [u.itemId, u.name, u.items, u.state, u.stillTrashed])).toEqual([
      [folder, 'Projects', 3, 'trashed', true],
      [loose, 'loose.txt', 1, 'trashed', true],
    ])
    // paged by audit id
    const first = await api('editor', 'GET', `/operations/${trashOp.id}?limit=1`)
    expect(first.json.units).toHaveLength(1)
    const second = await api('editor', 'GET', `/operations/${trashOp.id}?limit=1&after=${first.json.next}`)
    expect(second.json.units.map((u: { itemId: number }) => u.itemId)).toEqual([loose])
  })

  it('a restore is an operation of its own; the trash operation then shows the unit back in place', async () => {
    const answer = await api('editor', 'POST', '/trash/restore', { ids: [loose] })
    expect(answer.status, answer.text).toBe(200)
    const [op] = await operationsOf('editor')
    expect(op).toMatchObject({
      action: 'restore',
      requested: 1,
      outcomes: { ok: 1, warning: 0, error: 0 },
      items: 1,
    })
    expect(op!.id).not.toBe(trashOp.id)
    expect(await auditOperationIds([loose], 'restore')).toEqual([{ item_id: loose, operation_id: op!.id }])
    const units = (await api('editor', 'GET', `/operations/${trashOp.id}`)).json.units
    expect(units[1]).toMatchObject({ itemId: loose, state: 'active', stillTrashed: false })
  })

  it('srv.asmx deletes are operations of the door, by the ticket owner', async () => {
    const file = await make('file', 'memo.txt', library)
    const ticket = await asmxTicket(server.baseUrl, fx.users.editor!)
    const deleted = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
      authenticationTicket: ticket,
      Path: '\\Library\\memo.txt',
    })
    expect(deleted.success, deleted.text).toBe('true')
    const [op] = await operationsOf('editor', '?door=asmx')
    expect(op).toMatchObject({ door: 'asmx', action: 'trash', actor: { id: fx.users.editor!.id }, items: 1 })
    expect(await auditOperationIds([file], 'trash')).toEqual([{ item_id: file, operation_id: op!.id }])
  })

  it('Enterprise operations name the client as LogOn did; IPS ones as the authHeader does', async () => {
    const viaEnterprise = await make('file', 'enterprise.txt', library)
    const ticket = await logOn(server, fx.users.editor!)
    const reply = await postEnterprise(
      server,
      deleteObjects(ticket, { ids: [viaEnterprise], permanent: false, areas: ['Workflow'] }),
    )
    expect(handledIds(reply.text, 'DeleteObjects'), reply.text).toEqual([String(viaEnterprise)])
    const [enterprise] = await operationsOf('editor', '?door=enterprise')
    expect(enterprise).toMatchObject({
      door: 'enterprise',
      action: 'trash',
      client: 'test / Content Station',
      items: 1,
    })
    expect(await auditOperationIds([viaEnterprise], 'trash')).toEqual([
      { item_id: viaEnterprise, operation_id: enterprise!.id },
    ])

    const viaIps = await make('file', 'ips.txt', library)
    const ips = await post(
      server.baseUrl,
      '/scene7/services/IpsApiService',
      soap11(
        `<deleteAssetsParam xmlns="${ns('2012-02-14')}"><companyHandle>c|${fx.tenantId}</companyHandle><assetHandleArray><items>a|${viaIps}</items></assetHandleArray></deleteAssetsParam>`,
        authHeader(fx.users.admin!),
      ),
    )
    expect(ips.status, ips.text).toBe(200)
    const [op] = await operationsOf('admin', '?door=ips')
    expect(op).toMatchObject({ door: 'ips', action: 'trash', client: 'trashd-test 1.0', items: 1 })
  })

  it('a purge and an emptied bin are operations; so is a cleanup run, per tenant it changed', async () => {
    const purged = await make('file', 'gone.txt')
    await api('purger', 'POST', '/items/trash', { ids: [purged] })
    const answer = await api('purger', 'POST', '/trash/purge', { ids: [purged] })
    expect(answer.status, answer.text).toBe(200)
    const [purge] = await operationsOf('purger')
    expect(purge).toMatchObject({ action: 'purge', outcomes: { ok: 1, warning: 0, error: 0 }, items: 1 })
    // the purge's last step (rows deleted after the files) is audited under the same operation
    expect(await auditOperationIds([purged], 'purge')).toEqual([{ item_id: purged, operation_id: purge!.id }])

    const binned = await make('file', 'bin.txt')
    await api('purger', 'POST', '/items/trash', { ids: [binned] })
    expect((await api('purger', 'POST', '/bin/empty', {})).status).toBe(200)
    const [bin] = await operationsOf('purger')
    expect(bin).toMatchObject({ action: 'empty_bin', outcomes: { ok: 1, error: 0 }, items: 1 })
    expect(await auditOperationIds([binned], 'empty_bin')).toEqual([
      { item_id: binned, operation_id: bin!.id },
    ])

    const expired = await make('file', 'emptied.txt')
    await api('purger', 'POST', '/items/trash', { ids: [expired] })
    await api('purger', 'POST', '/trash/empty', { ids: [expired] })
    const [empty] = await operationsOf('purger')
    expect(empty).toMatchObject({ action: 'empty', items: 1 })
    const report = await server.ctx.cleanup.run({ trigger: 'api', tenantId: fx.tenantId })
    expect(report!.run.status).toBe('succeeded')
    const [cleanup] = await operationsOf('admin', '?door=cleanup')
    expect(cleanup).toMatchObject({
      door: 'cleanup',
      action: 'cleanup',
      actor: null,
      items: 1,
      outcomes: { ok: 1 },
    })
    const audit = await auditOperationIds([expired], 'purge')
    expect(audit).toEqual([{ item_id: expired, operation_id: cleanup!.id }])
  })

  it('a user sees their own operations only; an administrator all of the tenant, filtered and paged', async () => {
    expect(await operationsOf('viewer')).toEqual([])
    const foreign = await api('viewer', 'GET', `/operations/${trashOp.id}`)
    expect(foreign.status).toBe(404)
    expect(foreign.text).not.toMatch(/Projects|loose\.txt/)
    expect(await operationsOf('viewer', `?actor=${fx.users.editor!.id}`)).toEqual([])
    expect((await api('admin', 'GET', `/operations/${trashOp.id}`)).status).toBe(200)

    const all = await operationsOf('admin', '?limit=500')
    const logins = new Set(all.map((op) => op.actor?.login ?? null))
    expect(logins).toEqual(
      new Set([fx.users.editor!.login, fx.users.purger!.login, fx.users.admin!.login, null]),
    )
    // newest first
    const starts = all.map((op) => Date.parse(op.startedAt))
    expect([...starts].sort((a, b) => b - a)).toEqual(starts)

    const editors = await operationsOf('admin', `?actor=${fx.users.editor!.id}`)
    expect(editors.map((op) => [op.door, op.action])).toEqual([
      ['enterprise', 'trash'],
      ['asmx', 'trash'],
      ['rest', 'restore'],
      ['rest', 'trash'],
    ])
    expect((await operationsOf('admin', `?actorLogin=${fx.users.purger!.login}&action=purge`)).length).toBe(1)
    expect((await operationsOf('admin', '?minItems=4')).map((op) => op.id)).toEqual([trashOp.id])
    expect(await operationsOf('admin', '?from=2000-01-01&to=2000-01-02')).toEqual([])

    // keyset pages: each operation once, in order
    const seen: string[] = []
    let cursor: string | null = null
    for (let page = 0; page < 20; page++) {
      const answer = await api('admin', 'GET', `/operations?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      expect(answer.status, answer.text).toBe(200)
      seen.push(...answer.json.operations.map((op: OperationJson) => op.id))
      cursor = answer.json.next
      if (!cursor) break
    }
    expect(seen).toEqual(all.map((op) => op.id))
    expect((await api('admin', 'GET', '/operations?cursor=garbage')).status).toBe(422)
    expect((await api('admin', 'GET', '/operations/not-a-uuid')).status).toBe(404)
  })

  it('operation ids grow with time (UUID version 7): a new operation goes next to the last in the indexes on them', async () => {
    const since = new Date()
    const ids: number[] = []
    for (let i = 0; i < 12; i++) ids.push(await make('file', `ordered-${i}.txt`))
    for (const id of ids) {
      expect((await api('editor', 'POST', '/items/trash', { ids: [id] })).status).toBe(200)
      await new Promise((resolve) => setTimeout(resolve, 2))
    }
    const made = await server.database.db.query<{ id: string; started_at: Date }>(
      `select o.id, o.started_at from operations o join audit a on a.tenant_id = o.tenant_id and a.operation_id = o.id
        where o.tenant_id = $1 and o.started_at >= $2 and a.item_id = any($3::bigint[]) order by a.item_id`,
      [fx.tenantId, since, ids],
    )
    const opIds = made.rows.map((row) => row.id)
    expect(opIds).toHaveLength(12)
    for (const row of made.rows) {
      expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      // the first 48 bits are the time in milliseconds
      const at = Number.parseInt(row.id.replace('-', '').slice(0, 12), 16)
      expect(Math.abs(at - row.started_at.getTime())).toBeLessThan(1000)
    }
    expect([...opIds].sort()).toEqual(opIds)
  })
})
