import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IPS_VERSIONS } from '../src/protocols/ips/versions.js'
import { parseXml } from '../src/protocols/soap/xml.js'
import {
  all,
  authHeader,
  bodyOf,
  COMMON_NS,
  faultOf,
  ns,
  post,
  SOAP11,
  SOAP12,
  shape,
  soap11,
  soap12,
  text,
  type User,
} from './helpers/ips.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

const SERVICE = '/scene7/services/IpsApiService'
const POX = '/scene7/api/IpsApiService'

let server: TestServer
let a: Fixture
let b: Fixture
let seedUser: User
let limited: User
let webServiceUser: User
const ids: Record<string, number> = {}

async function state(id: number) {
  const result = await server.database.db.query('select state, parent_id, name from items where id = $1', [
    id,
  ])
  return result.rows[0] as { state: string; parent_id: number | null; name: string } | undefined
}

async function states(list: number[]) {
  const result = await server.database.db.query(
    'select id, state from items where id = any($1::bigint[]) order by id',
    [list],
  )
  return Object.fromEntries(result.rows.map((row) => [Number(row.id), row.state]))
}

function call(user: User | null, body: string, options: { version?: string; headerNs?: string } = {}) {
  return post(server.baseUrl, SERVICE, soap11(body, user ? authHeader(user, { ns: options.headerNs }) : ''))
}

const batch = (op: string, company: string, handles: string[], version = '2014-04-03') =>
  `<${op}Param xmlns="${ns(version)}"><companyHandle>${company}</companyHandle><assetHandleArray>${handles
    .map((h) => `<items>${h}</items>`)
    .join('')}</assetHandleArray></${op}Param>`

const search = (company: string, inner: string, version = '2014-04-03') =>
  `<searchAssetsParam xmlns="${ns(version)}"><companyHandle>${company}</companyHandle>${inner}</searchAssetsParam>`

function handlesOf(reply: { root: ReturnType<typeof parseXml> }) {
  return all(bodyOf(reply.root), 'assetArray/items').map((item) => text(item, 'assetHandle'))
}

beforeAll(async () => {
  server = await startTestServer()
  const db = server.database.db
  // The seeds name company c|6 and assets a|942, a|943: create exactly those, then move the sequences on.
  await db.query(`insert into tenants (id, name) values (6, 'Seed Company')`)
  await db.query(`select setval(pg_get_serial_sequence('tenants', 'id'), 100)`)
  seedUser = { login: 'seed-user@example.com', password: 'seed-password-1' }
  const seedUserId = await server.ctx.admin.createUser(6, { ...seedUser, email: seedUser.login })
  await db.query(
    `insert into items (tenant_id, id, kind, type, name, owner_id, created_by, modified_by)
     values (6, 942, 'file', 'Image', 'hat.jpg', $1, $1, $1), (6, 943, 'file', 'Image', 'shoe.jpg', $1, $1, $1)`,
    [seedUserId],
  )
  await db.query(`select setval(pg_get_serial_sequence('items', 'id'), 10000)`)

  a = await createFixture(server.ctx, 'ia', 'ips')
  b = await createFixture(server.ctx, 'ib', 'ips')
  limited = { login: 'ia-portal-user', password: 'portal-password' }
  await server.ctx.admin.createUser(a.tenantId, { ...limited, ipsRole: 'ImagePortalUser' })
  webServiceUser = { login: 'ia-ws-user', password: 'ws-user-password' }
  await server.ctx.admin.createUser(a.tenantId, { ...webServiceUser, ipsRole: 'WebServiceUser' })

  const owner = a.users.editor!.id
  const folder = async (name: string, parentId: number | null) =>
    (await server.ctx.admin.createItem(a.tenantId, { kind: 'folder', name, parentId, ownerId: owner })).item
      .id
  const file = async (name: string, parentId: number | null, type = 'Image') =>
    (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'file',
        name,
        parentId,
        type,
        ownerId: owner,
        content: Buffer.from(name),
      })
    ).item.id
  ids.library = await folder('Library', null)
  ids.images = await folder('images', ids.library)
  ids.sub = await folder('sub', ids.images)
  ids.docs = await folder('docs', ids.library)
  ids.hat = await file('hat.jpg', ids.images)
  ids.shoe = await file('shoe.jpg', ids.images)
  ids.deep = await file('deep.jpg', ids.sub)
  ids.report = await file('report.pdf', ids.docs, 'Document')
  ids.top = await file('top.jpg', null)
  ids.foreign = (
    await server.ctx.admin.createItem(b.tenantId, { kind: 'file', name: 'secret.jpg', type: 'Image' })
  ).item.id
})

afterAll(async () => {
  await server?.close()
})

describe('seed documents', () => {
  const seedRestoreRequest = `<restoreAssetsFromTrashParam xmlns="http://www.scene7.com/IpsApi/xsd/2008-01-15">
   <companyHandle>c|6</companyHandle>
   <assetHandleArray>
      <items>a|942|1|579</items>
      <items>a|943|1|580</items>
   </assetHandleArray>
</restoreAssetsFromTrashParam>`
  // seed 001 prints the closing tag without its '>'; the document meant is this one
  const seedRestoreResponse = `<restoreAssetsFromTrashReturn xmlns="http://www.scene7.com/IpsApi/xsd/2008-01-15">
   <successCount>2</successCount>
   <warningCount>0</warningCount>
   <errorCount>0</errorCount>
</restoreAssetsFromTrashReturn>`
  const seedEmptyRequest = `<emptyAssetsFromTrashParam xmlns="http://www.scene7.com/IpsApi/xsd/2023-01-15">
   <companyHandle>c|6</companyHandle>
   <assetHandleArray>
      <items>a|942|1|579</items>
      <items>a|943|1|580</items>
   </assetHandleArray>
</emptyAssetsFromTrashParam>`
  const seedEmptyResponse = `<emptyAssetsFromTrashReturn xmlns="http://www.scene7.com/IpsApi/xsd/2023-01-15">
   <successCount>2</successCount>
   <warningCount>0</warningCount>
   <errorCount>0</errorCount>
</emptyAssetsFromTrashReturn>`
  const deleteRequest = `<deleteAssetsParam xmlns="http://www.scene7.com/IpsApi/xsd/2008-01-15">
   <companyHandle>c|6</companyHandle>
   <assetHandleArray>
      <items>a|942|1|579</items>
      <items>a|943|1|580</items>
   </assetHandleArray>
</deleteAssetsParam>`
  const deleteResponse = `<deleteAssetsReturn xmlns="http://www.scene7.com/IpsApi/xsd/2008-01-15">
   <successCount>2</successCount>
   <warningCount>0</warningCount>
   <errorCount>0</errorCount>
</deleteAssetsReturn>`

  it('answers the seed requests, sent verbatim, with the seed responses element for element', async () => {
    const deleted = await call(seedUser, deleteRequest)
    expect(deleted.status).toBe(200)
    expect(shape(bodyOf(deleted.root))).toEqual(shape(parseXml(deleteResponse)))
    expect(await states([942, 943])).toEqual({ 942: 'trashed', 943: 'trashed' })

    const restored = await call(seedUser, seedRestoreRequest)
    expect(restored.status).toBe(200)
    expect(restored.contentType).toBe('text/xml;charset=UTF-8')
    expect(shape(bodyOf(restored.root))).toEqual(shape(parseXml(seedRestoreResponse)))
    expect(await states([942, 943])).toEqual({ 942: 'active', 943: 'active' })

    expect(shape(bodyOf((await call(seedUser, deleteRequest)).root))).toEqual(shape(parseXml(deleteResponse)))
    const emptied = await call(seedUser, seedEmptyRequest)
    expect(emptied.status).toBe(200)
    expect(shape(bodyOf(emptied.root))).toEqual(shape(parseXml(seedEmptyResponse)))
    expect(await states([942, 943])).toEqual({ 942: 'emptied', 943: 'emptied' })
    const audit = await server.database.db.query(`select action from audit where item_id = 942 order by id`)
    expect(audit.rows.map((row) => row.action)).toEqual(['trash', 'restore', 'trash', 'empty'])
  })

  it('answers every accepted namespace in that namespace, dispatching on the body element', async () => {
    for (const version of IPS_VERSIONS.filter((v) => v.key !== '')) {
      const body = batch('restoreAssetsFromTrash', 'c|6', ['a|942'], version.key)
      // a SOAPAction naming another operation changes nothing: the body element decides
      const reply = await post(server.baseUrl, SERVICE, soap11(body, authHeader(seedUser)), {
        'content-type': 'text/xml',
        soapaction: 'searchAssets',
      })
      const result = bodyOf(reply.root)
      expect([result.name, result.ns]).toEqual(['restoreAssetsFromTrashReturn', version.ns])
      expect(result.children.map((c) => c.name)).toEqual([
        'successCount',
        'warningCount',
        'errorCount',
        'errorDetailArray',
      ])
    }
  })

  it('writes the envelope and return element the way the real service does', async () => {
    const reply = await call(seedUser, batch('restoreAssetsFromTrash', 'c|6', []))
    expect(reply.text).toBe(
      `<?xml version='1.0' encoding='UTF-8'?><soapenv:Envelope xmlns:soapenv="${SOAP11}"><soapenv:Body>` +
        `<restoreAssetsFromTrashReturn xmlns="${ns('2014-04-03')}"><successCount>0</successCount>` +
        '<warningCount>0</warningCount><errorCount>0</errorCount></restoreAssetsFromTrashReturn>' +
        '</soapenv:Body></soapenv:Envelope>',
    )
  })
})

describe('trash operations', () => {
  it('deleteAsset trashes one asset and returns the empty element; a repeat is not an error', async () => {
    const body = `<deleteAssetParam xmlns="${ns('2010-01-31')}"><companyHandle>c|${a.tenantId}</companyHandle><assetHandle>a|${ids.top}</assetHandle></deleteAssetParam>`
    const reply = await call(a.users.editor!, body)
    expect(reply.status).toBe(200)
    expect(reply.text).toContain(`<deleteAssetReturn xmlns="${ns('2010-01-31')}" />`)
    expect((await state(ids.top))!.state).toBe('trashed')
    expect((await call(a.users.editor!, body)).status).toBe(200)
    const restored = await call(
      a.users.editor!,
      batch('restoreAssetsFromTrash', `c|${a.tenantId}`, [`a|${ids.top}`]),
    )
    expect(text(bodyOf(restored.root), 'successCount')).toBe('1')
  })

  it('reports a batch mixing ok, warning and error items with counts that add up, duplicates once', async () => {
    await server.ctx.trash.trash(a.users.editor!.actor, [ids.shoe])
    const handles = [
      `a|${ids.hat}`, // ok
      `a|${ids.hat}|1|579`, // the same asset again: counted once
      `a|${ids.shoe}`, // already in the trash: warning
      'a|987654', // unknown: error
      `a|${ids.foreign}`, // another tenant's asset: error, untouched
      'not-a-handle', // malformed: error
      'not-a-handle', // the same malformed handle: once
    ]
    const reply = await call(a.users.editor!, batch('deleteAssets', `c|${a.tenantId}`, handles))
    expect(reply.status).toBe(200)
    const result = bodyOf(reply.root)
    expect(result.children.map((c) => c.name)).toEqual([
      'successCount',
      'warningCount',
      'errorCount',
      'warningDetailArray',
      'errorDetailArray',
    ])
    expect([text(result, 'successCount'), text(result, 'warningCount'), text(result, 'errorCount')]).toEqual([
      '1',
      '1',
      '3',
    ])
    const warnings = all(result, 'warningDetailArray/items')
    expect(warnings.map((w) => w.children.map((c) => c.name))).toEqual([['assetHandle', 'code', 'reason']])
    expect(text(warnings[0], 'assetHandle')).toBe(`a|${ids.shoe}`)
    expect(text(warnings[0], 'reason')).toBe(`Asset 'a|${ids.shoe}' is already in the trash`)
    const errors = all(result, 'errorDetailArray/items').map((e) => [text(e, 'assetHandle'), text(e, 'code')])
    expect(errors).toEqual([
      ['a|987654', '30001'],
      [`a|${ids.foreign}`, '30001'],
      ['not-a-handle', '30001'],
    ])
    expect(await states([ids.hat, ids.shoe, ids.foreign])).toEqual({
      [ids.hat]: 'trashed',
      [ids.shoe]: 'trashed',
      [ids.foreign]: 'active',
    })
    const trashAudits = await server.database.db.query(
      `select count(*)::int as n from audit where item_id = $1 and action = 'trash'`,
      [ids.hat],
    )
    expect(trashAudits.rows[0].n).toBe(1)
    await server.ctx.trash.restore(a.users.admin!.actor, [ids.hat, ids.shoe])
  })

  it('restores into the original folder and recreates folders that are gone', async () => {
    await server.ctx.trash.trash(a.users.editor!.actor, [ids.deep])
    // the folder the asset was deleted from is trashed and emptied afterwards
    await server.ctx.trash.trash(a.users.editor!.actor, [ids.sub])
    await server.ctx.trash.empty(a.users.editor!.actor, [ids.sub])
    const reply = await call(
      a.users.editor!,
      batch('restoreAssetsFromTrash', `c|${a.tenantId}`, [`a|${ids.deep}`]),
    )
    expect(text(bodyOf(reply.root), 'successCount')).toBe('1')
    const restored = (await state(ids.deep))!
    expect(restored.state).toBe('active')
    expect(restored.parent_id).not.toBe(ids.sub)
    const parent = (await state(restored.parent_id!))!
    expect(parent).toMatchObject({ state: 'active', name: 'sub' })
    const grand = await server.database.db.query('select parent_id from items where id = $1', [
      restored.parent_id,
    ])
    expect(Number(grand.rows[0].parent_id)).toBe(ids.images)
    const found = await call(
      a.users.editor!,
      search(`c|${a.tenantId}`, '<folder>iatenant/Library/images/sub/</folder>'),
    )
    expect(handlesOf(found)).toEqual([`a|${ids.deep}`])
    expect(text(bodyOf(found.root), 'assetArray/items/folder')).toBe('iatenant/Library/images/sub/')
  })

  it('reports an asset whose folder cannot be recreated (a file holds its name) as an error item', async () => {
    const owner = a.users.editor!.id
    const lost = (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'folder',
        name: 'lost',
        parentId: ids.library,
        ownerId: owner,
      })
    ).item.id
    const inside = (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'file',
        name: 'in.jpg',
        type: 'Image',
        parentId: lost,
        ownerId: owner,
      })
    ).item.id
    await server.ctx.trash.trash(a.users.editor!.actor, [inside])
    await server.ctx.trash.trash(a.users.editor!.actor, [lost])
    await server.ctx.trash.empty(a.users.editor!.actor, [lost])
    await server.ctx.admin.createItem(a.tenantId, {
      kind: 'file',
      name: 'lost',
      type: 'Document',
      parentId: ids.library,
      ownerId: owner,
    })
    const reply = await call(
      a.users.editor!,
      batch('restoreAssetsFromTrash', `c|${a.tenantId}`, [`a|${inside}`, `a|${ids.top}`]),
    )
    const result = bodyOf(reply.root)
    expect([text(result, 'successCount'), text(result, 'warningCount'), text(result, 'errorCount')]).toEqual([
      '0',
      '1',
      '1',
    ])
    expect(text(result, 'errorDetailArray/items/code')).toBe('30000')
    expect((await state(inside))!.state).toBe('trashed')
  })

  it('empties to InEmptiedTrash: hidden from NotInTrash and InTrash, shown by Any, not restorable', async () => {
    const company = `c|${a.tenantId}`
    await call(a.users.editor!, batch('deleteAssets', company, [`a|${ids.report}`]))
    const inTrash = await call(a.users.editor!, search(company, '<trashState>InTrash</trashState>'))
    expect(handlesOf(inTrash)).toContain(`a|${ids.report}`)
    const emptied = await call(a.users.editor!, batch('emptyAssetsFromTrash', company, [`a|${ids.report}`]))
    expect(text(bodyOf(emptied.root), 'successCount')).toBe('1')
    expect((await state(ids.report))!.state).toBe('emptied')

    const again = await call(a.users.editor!, batch('emptyAssetsFromTrash', company, [`a|${ids.report}`]))
    expect([text(bodyOf(again.root), 'warningCount'), text(bodyOf(again.root), 'errorCount')]).toEqual([
      '1',
      '0',
    ])
    expect(
      handlesOf(await call(a.users.editor!, search(company, '<trashState>InTrash</trashState>'))),
    ).not.toContain(`a|${ids.report}`)
    expect(handlesOf(await call(a.users.editor!, search(company, '')))).not.toContain(`a|${ids.report}`)
    const any = await call(
      a.users.editor!,
      search(company, '<folder>Library/docs/</folder><trashState>Any</trashState>'),
    )
    expect(handlesOf(any)).toEqual([`a|${ids.report}`])
    expect(text(bodyOf(any.root), 'assetArray/items/trashState')).toBe('InEmptiedTrash')
    const restore = await call(a.users.editor!, batch('restoreAssetsFromTrash', company, [`a|${ids.report}`]))
    expect(text(bodyOf(restore.root), 'errorCount')).toBe('1')
    expect(text(bodyOf(restore.root), 'errorDetailArray/items/reason')).toContain('can no longer be restored')
    expect((await state(ids.report))!.state).toBe('emptied')
  })
})

describe('concurrency', () => {
  it('racing restore and empty on the same assets leave each in one state, counts adding up', async () => {
    const company = `c|${a.tenantId}`
    const racers: number[] = []
    for (let i = 0; i < 6; i++) {
      racers.push(
        (
          await server.ctx.admin.createItem(a.tenantId, {
            kind: 'file',
            name: `race-${i}.jpg`,
            type: 'Image',
            ownerId: a.users.editor!.id,
          })
        ).item.id,
      )
    }
    await server.ctx.trash.trash(a.users.editor!.actor, racers)
    const handles = racers.map((id) => `a|${id}`)
    const [restore, empty] = await Promise.all([
      call(a.users.editor!, batch('restoreAssetsFromTrash', company, handles)),
      call(a.users.admin!, batch('emptyAssetsFromTrash', company, [...handles].reverse())),
    ])
    const count = (reply: typeof restore, name: string) => Number(text(bodyOf(reply.root), name))
    for (const reply of [restore, empty]) {
      expect(reply.status).toBe(200)
      expect(count(reply, 'successCount') + count(reply, 'warningCount') + count(reply, 'errorCount')).toBe(6)
    }
    expect(count(restore, 'successCount') + count(empty, 'successCount')).toBe(6)
    const final = await states(racers)
    expect(Object.values(final).filter((s) => s === 'active')).toHaveLength(count(restore, 'successCount'))
    expect(Object.values(final).filter((s) => s === 'emptied')).toHaveLength(count(empty, 'successCount'))
  })
})

describe('searchAssets and getAssets', () => {
  it('filters by folder, subfolders, trash state and type, and pages with totalRows', async () => {
    const company = `c|${a.tenantId}`
    const user = a.users.admin!
    const only = await call(
      user,
      search(
        company,
        '<folder>f|iatenant/Library/images/</folder><includeSubfolders>false</includeSubfolders>',
      ),
    )
    expect(handlesOf(only)).toEqual([`a|${ids.hat}`, `a|${ids.shoe}`])
    const deep = await call(
      user,
      search(
        company,
        '<folder>iatenant/Library/</folder><includeSubfolders>1</includeSubfolders><assetTypeArray><items>Image</items></assetTypeArray>',
      ),
    )
    expect(handlesOf(deep)).toEqual([`a|${ids.deep}`, `a|${ids.hat}`, `a|${ids.shoe}`])
    const page = await call(
      user,
      search(
        company,
        '<folder>Library/images/</folder><includeSubfolders>true</includeSubfolders><recordsPerPage>2</recordsPerPage><resultsPage>2</resultsPage>',
      ),
    )
    expect(text(bodyOf(page.root), 'totalRows')).toBe('3')
    expect(handlesOf(page)).toEqual([`a|${ids.shoe}`])
    const first = bodyOf(only.root)
    expect(first.children.map((c) => c.name)).toEqual(['totalRows', 'assetArray'])
    expect(all(first, 'assetArray/items')[0]!.children.map((c) => c.name)).toEqual([
      'assetHandle',
      'type',
      'name',
      'fileName',
      'folder',
      'folderHandle',
      'trashState',
      'created',
      'createUser',
      'lastModified',
      'lastModifyUser',
    ])
    expect(text(first, 'assetArray/items/folderHandle')).toBe('f|iatenant/Library/images/')
    expect(text(first, 'assetArray/items/trashState')).toBe('NotInTrash')
    const none = await call(user, search(company, '<folder>iatenant/Nowhere/</folder>'))
    expect(bodyOf(none.root).children.map((c) => [c.name, c.text])).toEqual([['totalRows', '0']])
  })

  it('emits only the elements the request version defines', async () => {
    const company = `c|${a.tenantId}`
    const get = (version: string) =>
      call(
        a.users.admin!,
        `<getAssetsParam xmlns="${ns(version)}"><companyHandle>${company}</companyHandle><assetHandleArray><items>a|${ids.hat}</items><items>a|${ids.foreign}</items></assetHandleArray></getAssetsParam>`,
      )
    const fields = async (version: string) => {
      const reply = await get(version)
      expect(bodyOf(reply.root).ns).toBe(ns(version))
      const items = all(bodyOf(reply.root), 'assetArray/items')
      expect(items).toHaveLength(1)
      return items[0]!.children.map((c) => c.name)
    }
    expect(await fields('2008-01-15')).not.toContain('trashState')
    expect(await fields('2008-01-15')).not.toContain('fileName')
    expect(await fields('2008-09-10')).toContain('trashState')
    expect(await fields('2008-09-10')).not.toContain('fileName')
    expect(await fields('2016-01-14-beta')).toContain('fileName')

    await server.ctx.trash.trash(a.users.editor!.actor, [ids.shoe])
    const trashed = await call(
      a.users.admin!,
      `<getAssetsParam xmlns="${ns('2014-04-03')}"><companyHandle>${company}</companyHandle><assetHandleArray><items>a|${ids.shoe}|1|2</items></assetHandleArray><responseFieldArray><items>assetArray/items/assetHandle</items><items>assetArray/items/trashState</items></responseFieldArray></getAssetsParam>`,
    )
    expect(
      shape(all(bodyOf(trashed.root), 'assetArray/items')[0]!).children.map((c) => [c.name, c.text]),
    ).toEqual([
      ['assetHandle', `a|${ids.shoe}`],
      ['trashState', 'InTrash'],
    ])
    await server.ctx.trash.restore(a.users.editor!.actor, [ids.shoe])
  })

  it('answers pre-4.0 requests in the unversioned namespace without the trash operations', async () => {
    const company = `c|${a.tenantId}`
    const old = await call(
      a.users.admin!,
      `<ns1:searchAssetsParam xmlns:ns1="${COMMON_NS}"><ns1:companyHandle>${a.tenantId}</ns1:companyHandle><ns1:folder>Library/images/</ns1:folder></ns1:searchAssetsParam>`,
    )
    expect(bodyOf(old.root).ns).toBe(COMMON_NS)
    expect(all(bodyOf(old.root), 'assetArray/items')[0]!.children.map((c) => c.name)).not.toContain(
      'trashState',
    )
    const unknown = await call(
      a.users.admin!,
      batch('deleteAssets', company, [`a|${ids.hat}`]).replaceAll(ns('2014-04-03'), COMMON_NS),
    )
    expect(faultOf(unknown.root)).toMatchObject({ element: 'ipsApiFault', code: '30002' })
  })

  it('checkLogin reports ValidLogin and InvalidLogin', async () => {
    const check = (email: string, password: string) =>
      call(
        a.users.viewer!,
        `<checkLoginParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${a.tenantId}</companyHandle><email>${email}</email><password>${password}</password></checkLoginParam>`,
      )
    expect(text(bodyOf((await check(a.users.editor!.login, a.users.editor!.password)).root), 'status')).toBe(
      'ValidLogin',
    )
    expect(text(bodyOf((await check(a.users.editor!.login, 'wrong')).root), 'status')).toBe('InvalidLogin')
    expect(text(bodyOf((await check(b.users.editor!.login, b.users.editor!.password)).root), 'status')).toBe(
      'InvalidLogin',
    )
  })
})

describe('wire forms', () => {
  it('speaks SOAP 1.2 with SOAP 1.2 replies and faults', async () => {
    const body = batch('deleteAssets', `c|${a.tenantId}`, [`a|${ids.hat}`], '2016-01-14-beta')
    const reply = await post(
      server.baseUrl,
      SERVICE,
      soap12(body, authHeader(a.users.editor!, { ns: ns('2016-01-14-beta') })),
      {
        'content-type': 'application/soap+xml; charset=UTF-8; action="deleteAssets"',
      },
    )
    expect(reply.status).toBe(200)
    expect(reply.contentType).toBe('application/soap+xml;charset=UTF-8')
    expect(reply.root.ns).toBe(SOAP12)
    expect(bodyOf(reply.root).name).toBe('deleteAssetsReturn')
    expect(bodyOf(reply.root).ns).toBe(ns('2016-01-14-beta'))
    expect((await state(ids.hat))!.state).toBe('trashed')
    await server.ctx.trash.restore(a.users.editor!.actor, [ids.hat])

    const fault = await post(server.baseUrl, SERVICE, soap12(body), {
      'content-type': 'application/soap+xml',
    })
    expect(fault.status).toBe(500)
    const f = bodyOf(fault.root)
    expect(f.ns).toBe(SOAP12)
    expect(f.children.map((c) => c.name)).toEqual(['Code', 'Reason', 'Detail'])
    expect(text(f, 'Code/Value')).toBe('soapenv:Sender')
    expect(text(f, 'Reason/Text')).toBe('authenticationFault')
    expect(faultOf(fault.root)).toEqual({
      element: 'authenticationFault',
      ns: COMMON_NS,
      code: '10000',
      reason: 'No authentication credentials provided',
    })
  })

  it('serves the plain-XML form with bare return and fault documents', async () => {
    const version = '2017-10-29-beta'
    const request = `<Request xmlns="${ns(version)}">${authHeader(a.users.admin!, { ns: ns(version), extra: '<faultHttpStatusCode>200</faultHttpStatusCode>' })}${search(`c|${a.tenantId}`, '<folder>iatenant/Library/images/</folder>', version)}</Request>`
    const reply = await post(server.baseUrl, POX, request)
    expect(reply.status).toBe(200)
    expect(
      reply.text.startsWith(
        `<?xml version='1.0' encoding='UTF-8'?><searchAssetsReturn xmlns="${ns(version)}">`,
      ),
    ).toBe(true)
    expect(reply.root.name).toBe('searchAssetsReturn')
    expect(all(reply.root, 'assetArray/items')).toHaveLength(2)

    const denied = await post(server.baseUrl, POX, request.replace(`c|${a.tenantId}`, `c|${b.tenantId}`))
    expect(denied.status).toBe(200)
    expect(denied.text).toBe(
      `<?xml version='1.0' encoding='UTF-8'?><tns:authorizationFault xmlns:tns="${COMMON_NS}"><tns:code>20006</tns:code><tns:reason>User does not have access to company 'c|${b.tenantId}'</tns:reason></tns:authorizationFault>`,
    )
  })

  it('gzips replies for clients that accept it unless authHeader/gzipResponse says false', async () => {
    const body = search(`c|${a.tenantId}`, '<folder>Library/images/</folder>')
    const user = a.users.viewer!
    const raw = async (header: string, acceptEncoding: string) =>
      fetch(`${server.baseUrl}${SERVICE}`, {
        method: 'POST',
        headers: { 'content-type': 'text/xml', 'accept-encoding': acceptEncoding },
        body: soap11(body, header),
      })
    const zipped = await raw(authHeader(user), 'gzip, deflate')
    expect(zipped.headers.get('content-encoding')).toBe('gzip')
    expect(bodyOf(parseXml(await zipped.text())).name).toBe('searchAssetsReturn')
    const refused = await raw(authHeader(user, { extra: '<gzipResponse>false</gzipResponse>' }), 'gzip')
    expect(refused.headers.get('content-encoding')).toBeNull()
    const identity = await raw(authHeader(user), 'identity, gzip;q=0')
    expect(identity.headers.get('content-encoding')).toBeNull()
    expect(bodyOf(parseXml(await identity.text())).name).toBe('searchAssetsReturn')
  })

  it('serves the WSDL of each version with the service address rewritten', async () => {
    const res = await fetch(`${server.baseUrl}/scene7/webservice/IpsApi-2014-04-03.wsdl`)
    expect(res.status).toBe(200)
    const wsdl = await res.text()
    expect(wsdl).toContain(`<soap:address location="${server.baseUrl}${SERVICE}"/>`)
    expect(wsdl).toContain(`targetNamespace="${ns('2014-04-03')}"`)
    const moved = await (
      await fetch(
        `${server.baseUrl}/scene7/webservice/IpsApi-2008-01-15.wsdl?serviceUrl=http://localhost:8081`,
      )
    ).text()
    expect(moved).toContain(`<soap12:address location="http://localhost:8081${SERVICE}"/>`)
    const pre40 = await (await fetch(`${server.baseUrl}/scene7/webservice/IpsApi.wsdl`)).text()
    expect(pre40).not.toContain('deleteAssetsParam')
    expect(pre40).toContain('name="deleteAssetParam"')
    expect((await fetch(`${server.baseUrl}/scene7/webservice/IpsApi-1999-01-01.wsdl`)).status).toBe(404)
  })
})

describe('authentication', () => {
  const body = () => search(`c|${a.tenantId}`, '<folder>Library/images/</folder>')

  it('accepts authHeader in the unversioned and versioned namespaces, children in any order', async () => {
    const user = a.users.viewer!
    const reversed = `<authHeader xmlns="${ns('2014-04-03')}"><appVersion>1</appVersion><password>${user.password}</password><locale>en-US</locale><user>${user.login}</user></authHeader>`
    for (const header of [authHeader(user), authHeader(user, { ns: ns('2013-08-29-beta') }), reversed]) {
      const reply = await post(server.baseUrl, SERVICE, soap11(body(), header))
      expect(reply.status).toBe(200)
      expect(bodyOf(reply.root).name).toBe('searchAssetsReturn')
    }
  })

  it('accepts HTTP Basic and the legacy AuthUser/AuthPassword headers', async () => {
    const user = a.users.viewer!
    const basic = await post(server.baseUrl, SERVICE, soap11(body()), {
      'content-type': 'text/xml',
      authorization: `Basic ${Buffer.from(`${user.login}:${user.password}`).toString('base64')}`,
    })
    expect(bodyOf(basic.root).name).toBe('searchAssetsReturn')
    const legacy = `<AuthUser xmlns="http://www.scene7.com/IpsApi">${user.login}</AuthUser><AuthPassword xmlns="http://www.scene7.com/IpsApi">${user.password}</AuthPassword>`
    const reply = await post(server.baseUrl, SERVICE, soap11(body(), legacy))
    expect(bodyOf(reply.root).name).toBe('searchAssetsReturn')
  })

  it('faults 10000 without credentials and 10001 for bad ones, HTTP 500 (never 401)', async () => {
    const none = await post(server.baseUrl, SERVICE, soap11(body()))
    expect(none.status).toBe(500)
    expect(faultOf(none.root)).toMatchObject({ element: 'authenticationFault', code: '10000' })
    const f = bodyOf(none.root)
    expect(f.children.map((c) => [c.name, c.children.length ? '' : c.text])).toEqual([
      ['faultcode', 'soapenv:Client'],
      ['faultstring', 'authenticationFault'],
      ['detail', ''],
    ])
    for (const user of [
      { login: a.users.viewer!.login, password: 'wrong' },
      { login: 'nobody@example.com', password: 'x' },
    ]) {
      const bad = await call(user, body())
      expect(bad.status).toBe(500)
      expect(faultOf(bad.root)).toEqual({
        element: 'authenticationFault',
        ns: COMMON_NS,
        code: '10001',
        reason: 'Invalid username/password',
      })
    }
  })

  it('uses faultHttpStatusCode for the fault status', async () => {
    const header = authHeader(
      { login: a.users.viewer!.login, password: 'wrong' },
      { extra: '<faultHttpStatusCode>200</faultHttpStatusCode>' },
    )
    const reply = await post(server.baseUrl, SERVICE, soap11(body(), header))
    expect(reply.status).toBe(200)
    expect(faultOf(reply.root).code).toBe('10001')
  })

  it('stops accepting a password once it is changed (verified passwords are cached briefly)', async () => {
    const user = { login: 'ia-changing', password: 'first-password' }
    const id = await server.ctx.admin.createUser(a.tenantId, user)
    expect(bodyOf((await call(user, body())).root).name).toBe('searchAssetsReturn')
    await server.ctx.admin.setPassword(a.tenantId, id, 'second-password')
    expect(faultOf((await call(user, body())).root).code).toBe('10001')
    expect(bodyOf((await call({ ...user, password: 'second-password' }, body())).root).name).toBe(
      'searchAssetsReturn',
    )
  })
})

describe('authorization and faults', () => {
  it('refuses roles that may not use the trash (20003) but lets them search', async () => {
    const reply = await call(limited, batch('deleteAssets', `c|${a.tenantId}`, [`a|${ids.hat}`]))
    expect(reply.status).toBe(500)
    expect(faultOf(reply.root)).toEqual({
      element: 'authorizationFault',
      ns: COMMON_NS,
      code: '20003',
      reason: "User does not have permission to access operation 'deleteAssets'",
    })
    expect((await state(ids.hat))!.state).toBe('active')
    expect(bodyOf((await call(limited, search(`c|${a.tenantId}`, ''))).root).name).toBe('searchAssetsReturn')
    const ws = await call(webServiceUser, search(`c|${a.tenantId}`, ''))
    expect(faultOf(ws.root).code).toBe('20003')
  })

  it("refuses another tenant's company handle (20006) and leaves its assets alone", async () => {
    const reply = await call(a.users.admin!, batch('deleteAssets', `c|${b.tenantId}`, [`a|${ids.foreign}`]))
    expect(faultOf(reply.root)).toMatchObject({ element: 'authorizationFault', code: '20006' })
    const found = await call(a.users.admin!, search(`c|${b.tenantId}`, ''))
    expect(faultOf(found.root).code).toBe('20006')
    const get = await call(
      a.users.admin!,
      `<getAssetsParam xmlns="${ns('2014-04-03')}"><companyHandle>c|${a.tenantId}</companyHandle><assetHandleArray><items>a|${ids.foreign}</items></assetHandleArray></getAssetsParam>`,
    )
    expect(all(bodyOf(get.root), 'assetArray/items')).toHaveLength(0)
    expect((await state(ids.foreign))!.state).toBe('active')
  })

  it('reports a user without rights on an asset per item (20009)', async () => {
    await server.ctx.trash.trash(a.users.editor!.actor, [ids.hat])
    const reply = await call(
      a.users.outsider!,
      batch('restoreAssetsFromTrash', `c|${a.tenantId}`, [`a|${ids.hat}`]),
    )
    expect(text(bodyOf(reply.root), 'errorCount')).toBe('1')
    expect(text(bodyOf(reply.root), 'errorDetailArray/items/code')).toBe('20009')
    expect((await state(ids.hat))!.state).toBe('trashed')
    await server.ctx.trash.restore(a.users.editor!.actor, [ids.hat])
  })

  it('faults 30001 for invalid parameters and 30002 for missing ones or unknown operations', async () => {
    const user = a.users.admin!
    const invalidState = await call(user, search(`c|${a.tenantId}`, '<trashState>Sometimes</trashState>'))
    expect(faultOf(invalidState.root)).toMatchObject({ element: 'ipsApiFault', code: '30001' })
    expect(text(bodyOf(invalidState.root), 'faultcode')).toBe('soapenv:Server')
    expect(faultOf((await call(user, search('company-x', ''))).root).code).toBe('30001')
    expect(
      faultOf((await call(user, search(`c|${a.tenantId}`, '<recordsPerPage>-1</recordsPerPage>'))).root).code,
    ).toBe('30001')
    const missing = await call(
      user,
      `<deleteAssetsParam xmlns="${ns('2014-04-03')}"><assetHandleArray/></deleteAssetsParam>`,
    )
    expect(faultOf(missing.root)).toEqual({
      element: 'ipsApiFault',
      ns: COMMON_NS,
      code: '30002',
      reason: "Missing required parameter 'companyHandle'",
    })
    const sqlish = await call(
      user,
      search(`c|${a.tenantId}`, "<folder>Library/x'; drop table items; --/</folder>"),
    )
    expect(text(bodyOf(sqlish.root), 'totalRows')).toBe('0')
    const injected = await call(
      user,
      batch('deleteAssets', `c|${a.tenantId}`, ["a|1' or '1'='1", 'a|1;delete']),
    )
    expect(text(bodyOf(injected.root), 'errorCount')).toBe('2')
    expect(
      faultOf((await call(user, search(`c|${a.tenantId}`, '<recordsPerPage>ten</recordsPerPage>'))).root)
        .code,
    ).toBe('30001')
    expect(
      faultOf(
        (await call(user, search(`c|${a.tenantId}`, '<includeSubfolders>maybe</includeSubfolders>'))).root,
      ).code,
    ).toBe('30001')
    const keyword = await call(
      user,
      search(`c|${a.tenantId}`, '<keywordArray><items>hat</items></keywordArray>'),
    )
    expect(faultOf(keyword.root)).toMatchObject({
      code: '30001',
      reason: "Parameter 'keywordArray' is not supported by this server",
    })
    expect(faultOf((await call(user, `<launchRocketParam xmlns="${ns('2014-04-03')}"/>`)).root).code).toBe(
      '30002',
    )
    expect(
      faultOf((await call(user, batch('deleteAssets', `c|${a.tenantId}`, [], '1999-01-01'))).root).code,
    ).toBe('30002')
  })

  it('faults 30003 for invalid XML, DOCTYPEs and non-envelopes, in the door format', async () => {
    for (const raw of [
      '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>',
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><lolz>&lol;</lolz>',
      '<notSoap/>',
      '',
    ]) {
      const reply = await post(server.baseUrl, SERVICE, raw)
      expect(reply.status).toBe(500)
      expect(reply.root.ns).toBe(SOAP11)
      expect(faultOf(reply.root)).toMatchObject({ element: 'ipsApiFault', ns: COMMON_NS, code: '30003' })
    }
    const deep = `${'<a>'.repeat(200)}${'</a>'.repeat(200)}`
    expect(faultOf((await post(server.baseUrl, SERVICE, soap11(deep))).root).code).toBe('30003')
    const untyped = await post(
      server.baseUrl,
      SERVICE,
      soap11(search(`c|${a.tenantId}`, ''), authHeader(a.users.admin!)),
      {},
    )
    expect(bodyOf(untyped.root).name).toBe('searchAssetsReturn')
    const pox = await post(server.baseUrl, POX, '<Request><unclosed></Request>')
    expect(pox.root.name).toBe('ipsApiFault')
    expect(text(pox.root, 'code')).toBe('30003')
    const big = await post(server.baseUrl, SERVICE, `<a>${'x'.repeat(9 * 1024 * 1024)}</a>`)
    expect(big.status).toBe(500)
    expect(faultOf(big.root).code).toBe('30003')
  })
})
