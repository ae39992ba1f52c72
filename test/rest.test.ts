import { existsSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { scriptCall } from './helpers/rest.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

let server: TestServer
let a: Fixture
let b: Fixture

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` }

/** A script's request: state-changing calls without a body say so with X-Requested-With (CSRF rule). */
const call = scriptCall(() => server)

async function createItem(f: Fixture, body: Record<string, unknown>) {
  const response = await call('POST', `/api/v1/tenants/${f.tenantId}/items`, {
    auth: admin.authorization,
    body,
  })
  expect(response.status).toBe(201)
  return response.body as { id: number; path: string; handles: Record<string, string> }
}

async function itemRow(id: number) {
  const result = await server.database.db.query(
    'select state, name, parent_id, trash_root, deleted_by, deleted_at from items where id = $1',
    [id],
  )
  return result.rows[0]
}

async function auditActions(itemId: number) {
  const result = await server.database.db.query('select action from audit where item_id = $1 order by id', [
    itemId,
  ])
  return result.rows.map((row) => row.action)
}

beforeAll(async () => {
  server = await startTestServer()
  a = await createFixture(server.ctx, 'ra')
  b = await createFixture(server.ctx, 'rb')
})

afterAll(async () => {
  await server?.close()
})

describe('admin API', () => {
  it('creates a tenant, user, brand, issue, category, access and items and reads them back', async () => {
    const tenant = await call('POST', '/api/v1/tenants', {
      auth: admin.authorization,
      body: { name: 'Acme', retentionDays: 3 },
    })
    expect(tenant.status).toBe(201)
    expect(tenant.body.handle).toBe(`c|${tenant.body.id}`)
    const t = tenant.body.id
    const user = await call('POST', `/api/v1/tenants/${t}/users`, {
      auth: admin.authorization,
      body: { login: 'acme-user', password: 'acme-password', email: 'u@acme.test', ipsRole: 'IpsAdmin' },
    })
    expect(user.status).toBe(201)
    const brand = await call('POST', `/api/v1/tenants/${t}/brands`, {
      auth: admin.authorization,
      body: { name: 'B', autoPurgeDays: 30 },
    })
    expect(brand.status).toBe(201)
    const issue = await call('POST', `/api/v1/tenants/${t}/brands/${brand.body.id}/issues`, {
      auth: admin.authorization,
      body: { name: 'I1' },
    })
    const category = await call('POST', `/api/v1/tenants/${t}/brands/${brand.body.id}/categories`, {
      auth: admin.authorization,
      body: { name: 'C1' },
    })
    expect([issue.status, category.status]).toEqual([201, 201])
    const access = await call('PUT', `/api/v1/tenants/${t}/brands/${brand.body.id}/access/${user.body.id}`, {
      auth: admin.authorization,
      body: { view: true, delete: true, purge: false },
    })
    expect(access.status).toBe(200)
    const folder = await call('POST', `/api/v1/tenants/${t}/items`, {
      auth: admin.authorization,
      body: { kind: 'folder', name: 'Lib' },
    })
    const file = await call('POST', `/api/v1/tenants/${t}/items`, {
      auth: admin.authorization,
      body: {
        kind: 'file',
        name: 'a.txt',
        parentId: folder.body.id,
        brandId: brand.body.id,
        issueId: issue.body.id,
        categoryId: category.body.id,
        content: Buffer.from('hello').toString('base64'),
      },
    })
    expect(file.status).toBe(201)
    expect(file.body).toMatchObject({
      path: '/Lib/a.txt',
      handles: { ips: `a|${file.body.id}`, asmx: `D${file.body.id}`, enterprise: String(file.body.id) },
    })
    const read = await call('GET', `/api/v1/tenants/${t}/items/${file.body.id}`, {
      auth: admin.authorization,
    })
    expect(read.body).toMatchObject({
      name: 'a.txt',
      state: 'active',
      size: 5,
      deletedAt: null,
      deletedBy: null,
    })
    const stored = await server.database.db.query('select blob_key from items where id = $1', [file.body.id])
    const key = stored.rows[0].blob_key as string
    expect(existsSync(path.join(server.dataDir, 'blobs', key.slice(0, 2), key.slice(2, 4), key))).toBe(true)
  })

  it('refuses a missing or wrong admin token', async () => {
    expect((await call('POST', '/api/v1/tenants', { body: { name: 'x' } })).status).toBe(401)
    expect(
      (await call('POST', '/api/v1/tenants', { auth: 'Bearer wrong-token-wrong-token', body: { name: 'x' } }))
        .status,
    ).toBe(401)
    const user = basicAuth(a.users.admin!)
    expect((await call('GET', '/api/v1/tenants', { auth: user })).status).toBe(401)
  })

  it('answers bad input with a problem document and changes nothing', async () => {
    const before = await server.database.db.query('select count(*)::int as n from items')
    const cases: [unknown, number][] = [
      [{ kind: 'file', name: 42 }, 422],
      [{ kind: 'file', name: 'x', unknownField: 1 }, 422],
      [{ kind: 'blob', name: 'x' }, 422],
      [{ kind: 'file', name: '../../etc/passwd' }, 422],
      [{ kind: 'file', name: 'a\\b' }, 422],
      [{ kind: 'file', name: 'x', parentId: -1 }, 422],
      [{ kind: 'file', name: 'x', parentId: 99999999999 }, 404],
      [{ kind: 'file', name: 'x', content: 'not base64!!' }, 422],
    ]
    for (const [body, status] of cases) {
      const response = await call('POST', `/api/v1/tenants/${a.tenantId}/items`, {
        auth: admin.authorization,
        body,
      })
      expect(response.status, JSON.stringify(body)).toBe(status)
      expect(response.headers['content-type']).toContain('application/problem+json')
      expect(response.body.status).toBe(status)
    }
    const malformed = await server.app.inject({
      method: 'POST',
      url: `/api/v1/tenants/${a.tenantId}/items`,
      headers: { authorization: admin.authorization, 'content-type': 'application/json' },
      payload: '{"kind": "file", "name": ',
    })
    expect(malformed.statusCode).toBe(400)
    expect(malformed.headers['content-type']).toContain('application/problem+json')
    const oversize = await server.app.inject({
      method: 'POST',
      url: `/api/v1/tenants/${a.tenantId}/items`,
      headers: { authorization: admin.authorization, 'content-type': 'application/json' },
      payload: JSON.stringify({ kind: 'file', name: 'big', content: 'A'.repeat(9 * 1024 * 1024) }),
    })
    expect(oversize.statusCode).toBe(413)
    const after = await server.database.db.query('select count(*)::int as n from items')
    expect(after.rows[0].n).toBe(before.rows[0].n)
  })

  it('stores SQL metacharacters in names verbatim', async () => {
    const name = "x'; drop table items; --"
    const item = await createItem(a, { kind: 'file', name })
    const row = await itemRow(item.id)
    expect(row.name).toBe(name)
    expect(
      (await server.database.db.query('select count(*)::int as n from items')).rows[0].n,
    ).toBeGreaterThan(0)
  })

  it('serves the OpenAPI document', async () => {
    const doc = await call('GET', '/api/v1/openapi.json')
    expect(doc.status).toBe(200)
    expect(doc.body.openapi).toBe('3.1.0')
    expect(Object.keys(doc.body.paths)).toContain('/api/v1/trash/restore')
  })

  it('answers health and readiness', async () => {
    expect((await call('GET', '/healthz')).body).toEqual({ status: 'ok' })
    expect((await call('GET', '/readyz')).body).toEqual({ status: 'ready' })
  })
})

describe('trash lifecycle through the REST door', () => {
  const editor = () => basicAuth(a.users.editor!)

  it('trashes and restores a folder as exactly the unit it took along', async () => {
    // a library root is an administrator's to delete: the unit lives one level down
    const library = await createItem(a, { kind: 'folder', name: 'Units' })
    const top = await createItem(a, { kind: 'folder', name: 'Unit', parentId: library.id })
    const sub = await createItem(a, { kind: 'folder', name: 'Sub', parentId: top.id })
    const f1 = await createItem(a, { kind: 'file', name: 'f1.txt', parentId: sub.id, brandId: a.brandId })
    const early = await createItem(a, {
      kind: 'file',
      name: 'early.txt',
      parentId: top.id,
      brandId: a.brandId,
    })

    // a child trashed on its own first is a unit of its own
    const first = await call('POST', `/api/v1/items/${early.id}/trash`, { auth: editor() })
    expect(first.status).toBe(200)
    const trashed = await call('POST', '/api/v1/items/trash', { auth: editor(), body: { ids: [top.id] } })
    expect(trashed.body).toMatchObject({
      successCount: 1,
      results: [{ id: top.id, status: 'ok', affected: 3 }],
    })
    for (const id of [top.id, sub.id, f1.id])
      expect(await itemRow(id)).toMatchObject({ state: 'trashed', trash_root: top.id })
    expect(await itemRow(early.id)).toMatchObject({ state: 'trashed', trash_root: early.id })

    const listed = await call('GET', '/api/v1/trash?scope=own', { auth: editor() })
    const names = listed.body.items.map((item: { name: string }) => item.name)
    expect(names).toContain('Unit')
    expect(names).not.toContain('Sub')
    const unit = listed.body.items.find((item: { name: string }) => item.name === 'Unit')
    expect(unit).toMatchObject({
      items: 3,
      originalPath: '/Units/Unit',
      deletedBy: { login: a.users.editor!.login },
    })

    const restored = await call('POST', '/api/v1/trash/restore', { auth: editor(), body: { ids: [top.id] } })
    expect(restored.body).toMatchObject({ successCount: 1, results: [{ status: 'ok', affected: 3 }] })
    for (const id of [top.id, sub.id, f1.id])
      expect(await itemRow(id)).toMatchObject({ state: 'active', trash_root: null })
    // the separately trashed child stays in the trash
    expect(await itemRow(early.id)).toMatchObject({ state: 'trashed' })
    // deleted_at/by are kept after restore
    expect((await itemRow(top.id)).deleted_by).toBe(a.users.editor!.id)
    expect(await auditActions(sub.id)).toEqual(['trash', 'restore'])
  })

  it('renames a restored item whose name was taken', async () => {
    const folder = await createItem(a, { kind: 'folder', name: 'Conflicts' })
    const old = await createItem(a, { kind: 'file', name: 'report.pdf', parentId: folder.id })
    await call('POST', `/api/v1/items/${old.id}/trash`, { auth: editor() })
    await createItem(a, { kind: 'file', name: 'report.pdf', parentId: folder.id })
    const restored = await call('POST', `/api/v1/trash/${old.id}/restore`, { auth: editor() })
    expect(restored.body).toMatchObject({ status: 'ok', renamedTo: 'report (restored).pdf' })
    expect(await itemRow(old.id)).toMatchObject({
      state: 'active',
      name: 'report (restored).pdf',
      parent_id: folder.id,
    })
  })

  it('handles a missing parent: error, explicit target, or recreate', async () => {
    const make = async (tag: string) => {
      const parent = await createItem(a, { kind: 'folder', name: `Gone-${tag}` })
      const child = await createItem(a, { kind: 'file', name: `c-${tag}.txt`, parentId: parent.id })
      await call('POST', `/api/v1/items/${child.id}/trash`, { auth: editor() })
      // a top-level folder: only an administrator may delete it
      await call('POST', `/api/v1/items/${parent.id}/trash`, { auth: basicAuth(a.users.admin!) })
      const purge = await call('POST', '/api/v1/trash/purge', {
        auth: basicAuth(a.users.admin!),
        body: { ids: [parent.id] },
      })
      expect(purge.body.successCount).toBe(1)
      return { parent, child }
    }
    const e = await make('e')
    const err = await call('POST', `/api/v1/trash/${e.child.id}/restore`, {
      auth: editor(),
      body: { onMissingParent: 'error' },
    })
    expect(err.status).toBe(409)
    expect(err.body.code).toBe('ORIGINAL_LOCATION_GONE')
    expect(await itemRow(e.child.id)).toMatchObject({ state: 'trashed' })

    const target = await createItem(a, { kind: 'folder', name: 'Target' })
    const t = await make('t')
    const moved = await call('POST', `/api/v1/trash/${t.child.id}/restore`, {
      auth: editor(),
      body: { targetFolderId: target.id },
    })
    expect(moved.status).toBe(200)
    expect(await itemRow(t.child.id)).toMatchObject({ state: 'active', parent_id: target.id })

    // a target folder in a brand the editor may not see is not found; one it may only view refuses the restore
    const closedBrand = await server.ctx.admin.createBrand(a.tenantId, 'closed brand')
    const closed = await createItem(a, { kind: 'folder', name: 'Closed', brandId: closedBrand })
    const c = await make('c')
    const unseen = await call('POST', `/api/v1/trash/${c.child.id}/restore`, {
      auth: editor(),
      body: { targetFolderId: closed.id },
    })
    expect([unseen.status, unseen.body.code]).toEqual([404, 'TARGET_NOT_FOUND'])
    await server.ctx.admin.setAccess(a.tenantId, closedBrand, a.users.editor!.id, {
      view: true,
      delete: false,
      purge: false,
    })
    const viewOnly = await call('POST', '/api/v1/trash/restore', {
      auth: editor(),
      body: { ids: [c.child.id], targetFolderId: closed.id },
    })
    expect(viewOnly.body.results[0]).toMatchObject({ id: c.child.id, status: 'error', code: 'ACCESS_DENIED' })
    expect(await itemRow(c.child.id)).toMatchObject({ state: 'trashed' })
    await server.ctx.admin.setAccess(a.tenantId, closedBrand, a.users.editor!.id, {
      view: true,
      delete: true,
      purge: false,
    })
    const allowed = await call('POST', `/api/v1/trash/${c.child.id}/restore`, {
      auth: editor(),
      body: { targetFolderId: closed.id },
    })
    expect(allowed.status).toBe(200)
    expect(await itemRow(c.child.id)).toMatchObject({ state: 'active', parent_id: closed.id })

    const r = await make('r')
    const recreated = await call('POST', `/api/v1/trash/${r.child.id}/restore`, {
      auth: editor(),
      body: { onMissingParent: 'recreate' },
    })
    expect(recreated.status).toBe(200)
    const row = await itemRow(r.child.id)
    expect(row.state).toBe('active')
    const parent = await itemRow(row.parent_id)
    expect(parent).toMatchObject({ name: 'Gone-r', state: 'active' })
    expect(row.parent_id).not.toBe(r.parent.id)
  })

  it('keeps bins per user and tenants apart', async () => {
    const mine = await createItem(a, { kind: 'file', name: 'mine.txt' })
    await call('POST', `/api/v1/items/${mine.id}/trash`, { auth: editor() })
    const other = basicAuth(a.users.outsider!)
    const otherBin = await call('GET', '/api/v1/trash?scope=own', { auth: other })
    expect(otherBin.body.items.map((item: { id: number }) => item.id)).not.toContain(mine.id)
    const restore = await call('POST', `/api/v1/trash/${mine.id}/restore`, { auth: other })
    expect(restore.status).toBe(403)
    expect(await itemRow(mine.id)).toMatchObject({ state: 'trashed' })

    // tenant B's admin gets 404 for tenant A's ids, whatever the operation
    const foreign = basicAuth(b.users.admin!)
    expect((await call('GET', `/api/v1/items/${mine.id}`, { auth: foreign })).status).toBe(404)
    expect((await call('POST', `/api/v1/trash/${mine.id}/restore`, { auth: foreign })).status).toBe(404)
    expect((await call('DELETE', `/api/v1/trash/${mine.id}`, { auth: foreign })).status).toBe(404)
    const batch = await call('POST', '/api/v1/trash/empty', { auth: foreign, body: { ids: [mine.id] } })
    expect(batch.body.results[0]).toMatchObject({ status: 'error', code: 'NOT_FOUND' })
    const list = await call('GET', '/api/v1/trash', { auth: foreign })
    expect(list.status, JSON.stringify(list.body)).toBe(200)
    expect(list.body.items.map((item: { id: number }) => item.id)).not.toContain(mine.id)
    expect(await itemRow(mine.id)).toMatchObject({ state: 'trashed' })
  })

  it('refuses a wrong password and an unknown user', async () => {
    const wrong = await call('GET', '/api/v1/trash', {
      auth: basicAuth({ login: a.users.editor!.login, password: 'nope' }),
    })
    expect(wrong.status).toBe(401)
    expect(wrong.headers['content-type']).toContain('application/problem+json')
    expect(
      (await call('GET', '/api/v1/trash', { auth: basicAuth({ login: 'nobody', password: 'x' }) })).status,
    ).toBe(401)
    expect((await call('GET', '/api/v1/trash')).status).toBe(401)
  })

  it('signs in with a session token and out again', async () => {
    const session = await call('POST', '/api/v1/sessions', {
      body: { login: a.users.editor!.login, password: a.users.editor!.password },
    })
    expect(session.status).toBe(201)
    const auth = `Bearer ${session.body.token}`
    expect((await call('GET', '/api/v1/me', { auth })).body).toMatchObject({ login: a.users.editor!.login })
    await call('DELETE', '/api/v1/sessions', { auth })
    expect((await call('GET', '/api/v1/me', { auth })).status).toBe(401)
  })

  it('reports no-ops as warnings and counts a mixed batch', async () => {
    const x = await createItem(a, { kind: 'file', name: 'mixed-x.txt', brandId: a.brandId })
    const y = await createItem(a, { kind: 'file', name: 'mixed-y.txt', brandId: a.brandId })
    await call('POST', `/api/v1/items/${y.id}/trash`, { auth: editor() })
    const batch = await call('POST', '/api/v1/items/trash', {
      auth: editor(),
      body: { ids: [x.id, y.id, 987654321, x.id] },
    })
    expect(batch.body).toMatchObject({ successCount: 1, warningCount: 1, errorCount: 1 })
    expect(batch.body.results.map((r: { status: string }) => r.status)).toEqual(['ok', 'warning', 'error'])
  })

  it('enforces brand rights: delete needs delete, purge needs purge', async () => {
    const item = await createItem(a, { kind: 'file', name: 'rights.txt', brandId: a.brandId })
    const viewerTrash = await call('POST', `/api/v1/items/${item.id}/trash`, {
      auth: basicAuth(a.users.viewer!),
    })
    expect(viewerTrash.status).toBe(403)
    expect((await call('POST', `/api/v1/items/${item.id}/trash`, { auth: editor() })).status).toBe(200)
    const editorPurge = await call('DELETE', `/api/v1/trash/${item.id}`, { auth: editor() })
    expect(editorPurge.status).toBe(403)
    expect(await itemRow(item.id)).toMatchObject({ state: 'trashed' })
    const purge = await call('DELETE', `/api/v1/trash/${item.id}`, { auth: basicAuth(a.users.purger!) })
    expect(purge.status).toBe(200)
    expect(await itemRow(item.id)).toBeUndefined()
    expect(await auditActions(item.id)).toEqual(['trash', 'purge'])
  })

  it('empties items (not restorable, hidden) and purges them with their files', async () => {
    const file = await createItem(a, {
      kind: 'file',
      name: 'e.bin',
      content: Buffer.from('bytes').toString('base64'),
    })
    await call('POST', `/api/v1/items/${file.id}/trash`, { auth: editor() })
    const emptied = await call('POST', '/api/v1/trash/empty', { auth: editor(), body: { ids: [file.id] } })
    expect(emptied.body.successCount).toBe(1)
    expect(await itemRow(file.id)).toMatchObject({ state: 'emptied' })
    const list = await call('GET', '/api/v1/trash?scope=own', { auth: editor() })
    expect(list.body.items.map((item: { id: number }) => item.id)).not.toContain(file.id)
    const restore = await call('POST', `/api/v1/trash/${file.id}/restore`, { auth: editor() })
    expect(restore.body.code).toBe('NOT_RESTORABLE')
    const key = (await server.database.db.query('select blob_key from items where id = $1', [file.id]))
      .rows[0].blob_key
    const blob = path.join(server.dataDir, 'blobs', key.slice(0, 2), key.slice(2, 4), key)
    expect(existsSync(blob)).toBe(true)
    await call('DELETE', `/api/v1/trash/${file.id}`, { auth: basicAuth(a.users.admin!) })
    expect(await itemRow(file.id)).toBeUndefined()
    expect(existsSync(blob)).toBe(false)
    expect(await auditActions(file.id)).toEqual(['trash', 'empty', 'purge'])
  })

  it('empties the own bin only', async () => {
    const mine = await createItem(a, { kind: 'file', name: 'bin-mine.txt' })
    const theirs = await createItem(a, { kind: 'file', name: 'bin-theirs.txt' })
    await call('POST', `/api/v1/items/${mine.id}/trash`, { auth: basicAuth(a.users.viewer!) })
    await call('POST', `/api/v1/items/${theirs.id}/trash`, { auth: basicAuth(a.users.outsider!) })
    const emptied = await call('POST', '/api/v1/bin/empty', { auth: basicAuth(a.users.viewer!) })
    expect(emptied.body).toMatchObject({ purged: 1, errorCount: 0 })
    expect(await itemRow(mine.id)).toBeUndefined()
    expect(await itemRow(theirs.id)).toMatchObject({ state: 'trashed' })
    expect(await auditActions(mine.id)).toEqual(['trash', 'empty_bin'])
  })

  it('filters, sorts and pages the trash with a stable cursor', async () => {
    const folder = await createItem(a, { kind: 'folder', name: 'Paging' })
    const ids: number[] = []
    for (let i = 0; i < 7; i++)
      ids.push((await createItem(a, { kind: 'file', name: `page-${i}.txt`, parentId: folder.id })).id)
    await call('POST', '/api/v1/items/trash', { auth: basicAuth(a.users.purger!), body: { ids } })
    const seen: number[] = []
    let cursor: string | null = null
    for (let guard = 0; guard < 10; guard++) {
      const page: { body: { items: { id: number }[]; nextCursor: string | null; total: number } } =
        await call('GET', `/api/v1/trash?scope=own&name=page-&limit=3${cursor ? `&cursor=${cursor}` : ''}`, {
          auth: basicAuth(a.users.purger!),
        })
      expect(page.body.total).toBe(7)
      seen.push(...page.body.items.map((item) => item.id))
      cursor = page.body.nextCursor
      if (!cursor) break
    }
    expect(seen.sort()).toEqual([...ids].sort())
    const byName = await call(
      'GET',
      '/api/v1/trash?scope=own&name=page-&sort=name&direction=asc&limit=2&offset=2',
      {
        auth: basicAuth(a.users.purger!),
      },
    )
    expect(byName.body.items.map((item: { name: string }) => item.name)).toEqual(['page-2.txt', 'page-3.txt'])
    const bad = await call('GET', '/api/v1/trash?sort=evil;drop', { auth: basicAuth(a.users.purger!) })
    expect(bad.status).toBe(422)
  })

  it('exposes audit rows for each transition through the admin API', async () => {
    const item = await createItem(a, { kind: 'file', name: 'audited.txt' })
    await call('POST', `/api/v1/items/${item.id}/trash`, { auth: editor() })
    await call('POST', `/api/v1/trash/${item.id}/restore`, { auth: editor() })
    const audit = await call('GET', `/api/v1/tenants/${a.tenantId}/audit?itemId=${item.id}`, {
      auth: admin.authorization,
    })
    expect(
      audit.body.audit.map((row: { action: string; door: string; actorLogin: string }) => [
        row.action,
        row.door,
        row.actorLogin,
      ]),
    ).toEqual([
      ['trash', 'rest', a.users.editor!.login],
      ['restore', 'rest', a.users.editor!.login],
    ])
  })
})
