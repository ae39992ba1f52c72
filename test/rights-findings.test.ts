import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asmx, asmxTicket } from './helpers/asmx.js'
import { deleteObjects, envelope, ids, logOn, postEnterprise, reports } from './helpers/enterprise.js'
import { tenantFingerprint } from './helpers/hardening.js'
import { all, authHeader, bodyOf, ns, post, soap11, text } from './helpers/ips.js'
import {
  ADMIN_TOKEN,
  basicAuth,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

/**
 * The findings of "Rights and data safety that hold for every item an operation touches", each over the wire as
 * a user of the product would try it. The fixture's editor is alice (brand: view + delete, no purge), its viewer
 * bob (view only).
 */

let server: TestServer
let f: Fixture
const IPS_NS = ns('2012-02-14')

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'rf')
})

afterAll(async () => {
  await server?.close()
})

const make = async (
  kind: 'file' | 'folder',
  name: string,
  parentId: number | null,
  options: { branded?: boolean; ownerId?: number; content?: string } = {},
) =>
  (
    await server.ctx.admin.createItem(f.tenantId, {
      kind,
      name,
      parentId,
      brandId: options.branded ? f.brandId : null,
      ownerId: options.ownerId ?? f.users.admin!.id,
      ...(options.content === undefined ? {} : { content: Buffer.from(options.content) }),
    })
  ).item

const row = async (id: number) =>
  (
    await server.database.db.query('select state, deleted_by from items where tenant_id = $1 and id = $2', [
      f.tenantId,
      id,
    ])
  ).rows[0] as { state: string; deleted_by: number | null } | undefined

const unchanged = async (run: () => Promise<void>) => {
  const before = await tenantFingerprint(server.database.db, f.tenantId)
  await run()
  expect(await tenantFingerprint(server.database.db, f.tenantId)).toEqual(before)
}

const ticketOf = (role: string) => asmxTicket(server.baseUrl, f.users[role]!)

const rest = async (method: string, path: string, role: string, body?: unknown) => {
  const response = await fetch(`${server.baseUrl}${path}`, {
    method,
    headers: {
      authorization: basicAuth(f.users[role]!),
      'x-requested-with': 'XMLHttpRequest',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, body: await response.json() }
}

describe('finding 1: a view-only user destroys a brand object in an unbranded folder', () => {
  it('srv.asmx DeleteFolder then EmptyRecycleBin by bob: refused, the article stays', async () => {
    const library = await make('folder', 'Library1', null)
    const folder = await make('folder', 'BypassTest', library.id)
    const article = await make('file', 'Article.txt', folder.id, { branded: true, content: 'kept' })
    const ticket = await ticketOf('viewer')
    await unchanged(async () => {
      const deleted = await asmx(server.baseUrl, 'GET', 'DeleteFolder', {
        authenticationTicket: ticket,
        Path: '\\Library1\\BypassTest',
      })
      expect([deleted.success, deleted.error]).toEqual(['false', 'Access denied.'])
      const emptied = await asmx(server.baseUrl, 'GET', 'EmptyRecycleBin', { AuthenticationTicket: ticket })
      expect(emptied.success).toBe('true')
    })
    expect(await row(article.id)).toEqual({ state: 'active', deleted_by: null })
  })

  it('REST trash of the folder by bob is refused whole with the number of items in the way', async () => {
    const library = await make('folder', 'Library2', null)
    const folder = await make('folder', 'BypassTest', library.id)
    const article = await make('file', 'Article.txt', folder.id, { branded: true })
    await make('file', 'loose.txt', folder.id)
    await unchanged(async () => {
      const reply = await rest('POST', '/api/v1/items/trash', 'viewer', { ids: [folder.id] })
      expect(reply.body).toMatchObject({
        successCount: 0,
        errorCount: 1,
        results: [
          {
            id: folder.id,
            status: 'error',
            code: 'ACCESS_DENIED',
            message: 'Access denied: 1 item in it may not be deleted',
          },
        ],
      })
    })
    expect(await row(article.id)).toMatchObject({ state: 'active' })
  })
})

describe('finding 2: the Purge right is bypassed through another door', () => {
  it('alice trashes through Enterprise, is refused its purge, and srv.asmx EmptyRecycleBin leaves it too', async () => {
    const library = await make('folder', 'Library3', null)
    const article = await make('file', 'Purge me.txt', library.id, { branded: true, content: 'x' })
    const loose = await make('file', 'loose.txt', library.id, { content: 'y' })
    const enterprise = await logOn(server, f.users.editor!)
    const trashed = await postEnterprise(
      server,
      deleteObjects(enterprise, { ids: [article.id], permanent: false, areas: ['Workflow'] }),
    )
    expect(trashed.status, trashed.text).toBe(200)
    expect(await row(article.id)).toMatchObject({ state: 'trashed', deleted_by: f.users.editor!.id })
    const purge = await postEnterprise(
      server,
      deleteObjects(enterprise, { ids: [article.id], permanent: true, areas: ['Trash'] }),
    )
    expect(reports(purge.text, 'DeleteObjects')).toEqual([
      { id: String(article.id), code: 'S1002', level: 'Warning' },
    ])

    await rest('POST', `/api/v1/items/${loose.id}/trash`, 'editor')
    const ticket = await ticketOf('editor')
    const emptied = await asmx(server.baseUrl, 'GET', 'EmptyRecycleBin', { AuthenticationTicket: ticket })
    expect([emptied.success, emptied.error]).toEqual(['false', '[log]'])
    expect(emptied.response.children.map((item) => [item.name, item.attrs.name, item.attrs.message])).toEqual(
      [['logitem', 'Purge me.txt', 'Access denied.']],
    )
    // her own unbranded deletion is purged; the brand object stays in the bin, restorable
    expect(await row(loose.id)).toBeUndefined()
    expect(await row(article.id)).toMatchObject({ state: 'trashed' })
  })

  it('emptying (REST, IPS) needs the Purge right too: it ends in a purge', async () => {
    const library = await make('folder', 'Library4', null)
    const article = await make('file', 'Empty me.txt', library.id, { branded: true })
    await rest('POST', `/api/v1/items/${article.id}/trash`, 'editor')
    await unchanged(async () => {
      const reply = await rest('POST', '/api/v1/trash/empty', 'editor', { ids: [article.id] })
      expect(reply.body.results).toMatchObject([{ id: article.id, status: 'error', code: 'ACCESS_DENIED' }])
      const ips = await post(
        server.baseUrl,
        '/scene7/services/IpsApiService',
        soap11(
          `<emptyAssetsFromTrashParam xmlns="${IPS_NS}"><companyHandle>c|${f.tenantId}</companyHandle>` +
            `<assetHandleArray><items>a|${article.id}</items></assetHandleArray></emptyAssetsFromTrashParam>`,
          authHeader(f.users.editor!),
        ),
      )
      const reply2 = bodyOf(ips.root)
      expect(text(reply2, 'errorCount')).toBe('1')
      expect(all(reply2, 'errorDetailArray/items').map((item) => text(item, 'code'))).toEqual(['20009'])
    })
    expect(await row(article.id)).toMatchObject({ state: 'trashed' })
  })
})

describe('finding 3: any user deletes a top-level library', () => {
  it('DeleteFolder of a library root: "Top-level domain cannot be deleted" unless an administrator', async () => {
    const library = await make('folder', 'Library5', null)
    await make('file', 'inside.txt', library.id)
    for (const role of ['editor', 'viewer']) {
      const ticket = await ticketOf(role)
      await unchanged(async () => {
        const reply = await asmx(server.baseUrl, 'GET', 'DeleteFolder', {
          authenticationTicket: ticket,
          Path: '\\Library5',
        })
        expect([reply.success, reply.error], role).toEqual(['false', 'Top-level domain cannot be deleted'])
        const viaRest = await rest('POST', '/api/v1/items/trash', role, { ids: [library.id] })
        expect(viaRest.body.results, role).toMatchObject([{ id: library.id, code: 'TOP_LEVEL_FOLDER' }])
      })
    }
    const admin = await asmx(server.baseUrl, 'GET', 'DeleteFolder', {
      authenticationTicket: await ticketOf('admin'),
      Path: '\\Library5',
    })
    expect(admin.success).toBe('true')
    expect(await row(library.id)).toMatchObject({ state: 'trashed' })
  })
})

describe('finding 4: purge off by default', () => {
  it('PUT brand access without purge is accepted, and rights left out are not granted', async () => {
    const response = await fetch(
      `${server.baseUrl}/api/v1/tenants/${f.tenantId}/brands/${f.brandId}/access/${f.users.outsider!.id}`,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ view: true, delete: true }),
      },
    )
    expect(response.status, await response.clone().text()).toBe(200)
    const access = await server.database.db.query(
      'select can_view, can_delete, can_purge from access where tenant_id = $1 and brand_id = $2 and user_id = $3',
      [f.tenantId, f.brandId, f.users.outsider!.id],
    )
    expect(access.rows).toEqual([{ can_view: true, can_delete: true, can_purge: false }])
    await server.ctx.admin.setAccess(f.tenantId, f.brandId, f.users.outsider!.id, {
      view: false,
      delete: false,
      purge: false,
    })
  })
})

describe('one rule at every door', () => {
  it("Enterprise RestoreObjects refuses another user's unbranded item, as REST and srv.asmx do", async () => {
    const library = await make('folder', 'Library6', null)
    const loose = await make('file', 'theirs.txt', library.id)
    await rest('POST', `/api/v1/items/${loose.id}/trash`, 'purger')
    const enterprise = await logOn(server, f.users.editor!)
    await unchanged(async () => {
      const reply = await postEnterprise(
        server,
        envelope(`<ns1:RestoreObjects><Ticket>${enterprise}</Ticket>${ids([loose.id])}</ns1:RestoreObjects>`),
      )
      expect(reports(reply.text, 'RestoreObjects')).toEqual([
        { id: String(loose.id), code: 'S1002', level: 'Warning' },
      ])
      const viaRest = await rest('POST', `/api/v1/trash/${loose.id}/restore`, 'editor')
      expect([viaRest.status, viaRest.body.code]).toEqual([403, 'ACCESS_DENIED'])
    })
  })

  it('what a user may not see answers like what does not exist (srv.asmx DeleteDocument, IPS deleteAssets)', async () => {
    const closedBrand = await server.ctx.admin.createBrand(f.tenantId, 'rf closed')
    const library = await make('folder', 'Library7', null)
    const hidden = (
      await server.ctx.admin.createItem(f.tenantId, {
        kind: 'file',
        name: 'hidden.txt',
        parentId: library.id,
        brandId: closedBrand,
        ownerId: f.users.admin!.id,
      })
    ).item
    const ticket = await ticketOf('editor')
    await unchanged(async () => {
      const answers = []
      for (const name of ['hidden.txt', 'missing.txt']) {
        const reply = await asmx(server.baseUrl, 'GET', 'DeleteDocument', {
          authenticationTicket: ticket,
          Path: `\\Library7\\${name}`,
        })
        answers.push([reply.success, reply.error])
      }
      expect(answers).toEqual([
        ['false', 'Document not found'],
        ['false', 'Document not found'],
      ])
      const ips = await post(
        server.baseUrl,
        '/scene7/services/IpsApiService',
        soap11(
          `<deleteAssetsParam xmlns="${IPS_NS}"><companyHandle>c|${f.tenantId}</companyHandle>` +
            `<assetHandleArray><items>a|${hidden.id}</items><items>a|999999999</items></assetHandleArray></deleteAssetsParam>`,
          authHeader(f.users.editor!),
        ),
      )
      const codes = all(bodyOf(ips.root), 'errorDetailArray/items').map((item) => text(item, 'code'))
      expect(codes, ips.text).toEqual(['30001', '30001'])
    })
  })

  it('a REST listing offers restore and purge on a folder only when every member allows them', async () => {
    const library = await make('folder', 'Library8', null)
    const mixed = await make('folder', 'Mixed', library.id)
    await make('file', 'loose.txt', mixed.id)
    const article = await make('file', 'article.txt', mixed.id, { branded: true })
    const plain = await make('folder', 'Plain', library.id)
    await make('file', 'loose.txt', plain.id)
    await rest('POST', '/api/v1/items/trash', 'editor', { ids: [mixed.id, plain.id] })
    const listed = await rest('GET', '/api/v1/trash?scope=own', 'editor')
    const flags = Object.fromEntries(
      listed.body.items
        .filter((entry: { id: number }) => entry.id === mixed.id || entry.id === plain.id)
        .map((entry: { name: string; mayRestore: boolean; mayPurge: boolean }) => [
          entry.name,
          [entry.mayRestore, entry.mayPurge],
        ]),
    )
    expect(flags).toEqual({ Mixed: [true, false], Plain: [true, true] })
    await unchanged(async () => {
      const purge = await rest('POST', '/api/v1/trash/purge', 'editor', { ids: [mixed.id] })
      expect(purge.body.results).toMatchObject([
        { id: mixed.id, code: 'ACCESS_DENIED', message: 'Access denied: 1 item in it may not be purged' },
      ])
    })
    expect(await row(article.id)).toMatchObject({ state: 'trashed' })
  })
})
