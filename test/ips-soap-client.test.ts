import * as soap from 'soap'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

let server: TestServer
let a: Fixture
let b: Fixture
const ids: Record<string, number> = {}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value]

async function rows(list: number[]) {
  const result = await server.database.db.query(
    'select id, state, parent_id from items where id = any($1::bigint[]) order by id',
    [list],
  )
  return Object.fromEntries(result.rows.map((row) => [Number(row.id), row.state]))
}

async function client(version: string, user: { login: string; password: string }) {
  const created = await soap.createClientAsync(`${server.baseUrl}/scene7/webservice/IpsApi-${version}.wsdl`)
  created.addSoapHeader(
    `<authHeader xmlns="http://www.scene7.com/IpsApi/xsd"><user>${user.login}</user><password>${user.password}</password><appName>node-soap test</appName><appVersion>1</appVersion></authHeader>`,
  )
  return created
}

beforeAll(async () => {
  server = await startTestServer()
  a = await createFixture(server.ctx, 'sc', 'ips')
  b = await createFixture(server.ctx, 'sd', 'ips')
  const owner = a.users.editor!.id
  const folder = (
    await server.ctx.admin.createItem(a.tenantId, { kind: 'folder', name: 'Campaign', ownerId: owner })
  ).item.id
  const file = async (name: string) =>
    (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'file',
        name,
        parentId: folder,
        type: 'Image',
        ownerId: owner,
        content: Buffer.from(name),
      })
    ).item.id
  ids.folder = folder
  ids.one = await file('one.jpg')
  ids.two = await file('two.jpg')
  ids.keep = await file('keep.jpg')
  ids.foreign = (
    await server.ctx.admin.createItem(b.tenantId, { kind: 'file', name: 'x.jpg', type: 'Image' })
  ).item.id
})

afterAll(async () => {
  await server?.close()
})

describe('node-soap client generated from the served WSDL', () => {
  it('runs delete → search InTrash → restore → delete → empty → search Any', async () => {
    const ips = await client('2014-04-03', a.users.editor!)
    const company = `c|${a.tenantId}`
    const handles = [`a|${ids.one}`, `a|${ids.two}|1|2`]

    const [deleted] = await ips.deleteAssetsAsync({
      companyHandle: company,
      assetHandleArray: { items: handles },
    })
    expect(deleted).toEqual({ successCount: 2, warningCount: 0, errorCount: 0 })
    expect(await rows([ids.one, ids.two, ids.keep])).toEqual({
      [ids.one]: 'trashed',
      [ids.two]: 'trashed',
      [ids.keep]: 'active',
    })

    const [inTrash] = await ips.searchAssetsAsync({
      companyHandle: company,
      folder: `sctenant/Campaign/`,
      includeSubfolders: false,
      trashState: 'InTrash',
    })
    expect(inTrash.totalRows).toBe(2)
    const trashed = asArray<{ assetHandle: string; name: string; trashState: string; folder: string }>(
      inTrash.assetArray?.items,
    )
    expect(trashed.map((asset) => [asset.assetHandle, asset.name, asset.trashState, asset.folder])).toEqual([
      [`a|${ids.one}`, 'one.jpg', 'InTrash', 'sctenant/Campaign/'],
      [`a|${ids.two}`, 'two.jpg', 'InTrash', 'sctenant/Campaign/'],
    ])

    const [restored] = await ips.restoreAssetsFromTrashAsync({
      companyHandle: company,
      assetHandleArray: { items: [...handles, `a|${ids.foreign}`] },
    })
    expect(restored.successCount).toBe(2)
    expect(restored.warningCount).toBe(0)
    expect(restored.errorCount).toBe(1)
    expect(asArray(restored.errorDetailArray.items)).toEqual([
      { assetHandle: `a|${ids.foreign}`, code: 30001, reason: `Asset 'a|${ids.foreign}' does not exist` },
    ])
    expect(await rows([ids.one, ids.two, ids.foreign])).toEqual({
      [ids.one]: 'active',
      [ids.two]: 'active',
      [ids.foreign]: 'active',
    })

    const [again] = await ips.deleteAssetsAsync({
      companyHandle: company,
      assetHandleArray: { items: handles },
    })
    expect(again.successCount).toBe(2)
    const [emptied] = await ips.emptyAssetsFromTrashAsync({
      companyHandle: company,
      assetHandleArray: { items: handles },
    })
    expect(emptied).toEqual({ successCount: 2, warningCount: 0, errorCount: 0 })
    expect(await rows([ids.one, ids.two])).toEqual({ [ids.one]: 'emptied', [ids.two]: 'emptied' })

    const [any] = await ips.searchAssetsAsync({
      companyHandle: company,
      includeSubfolders: true,
      trashState: 'Any',
    })
    const states = Object.fromEntries(
      asArray<{ assetHandle: string; trashState: string }>(any.assetArray?.items).map((asset) => [
        asset.assetHandle,
        asset.trashState,
      ]),
    )
    expect(any.totalRows).toBe(3)
    expect(states).toEqual({
      [`a|${ids.one}`]: 'InEmptiedTrash',
      [`a|${ids.two}`]: 'InEmptiedTrash',
      [`a|${ids.keep}`]: 'NotInTrash',
    })
    const [inTrashNow] = await ips.searchAssetsAsync({ companyHandle: company, trashState: 'InTrash' })
    expect(inTrashNow.totalRows).toBe(0)
    const audit = await server.database.db.query(
      'select action, door, actor_login from audit where item_id = $1 order by id',
      [ids.two],
    )
    expect(audit.rows).toEqual(
      ['trash', 'restore', 'trash', 'empty'].map((action) => ({
        action,
        door: 'ips',
        actor_login: a.users.editor!.login,
      })),
    )
  })

  it('surfaces IPS faults as SOAP faults with the fault element in the detail', async () => {
    const ips = await client('2008-09-10', { login: a.users.editor!.login, password: 'wrong' })
    const error = await ips
      .searchAssetsAsync({ companyHandle: `c|${a.tenantId}`, includeSubfolders: true })
      .then(
        () => null,
        (e: { root?: { Envelope?: { Body?: { Fault?: { detail?: Record<string, unknown> } } } } }) => e,
      )
    expect(error).not.toBeNull()
    const detail = error!.root!.Envelope!.Body!.Fault!.detail!
    expect(detail.authenticationFault).toMatchObject({ code: '10001', reason: 'Invalid username/password' })
  })

  it('loads every served WSDL', async () => {
    for (const version of ['', '-2008-01-15', '-2023-01-15', '-2022-11-01-beta']) {
      const loaded = await soap.createClientAsync(`${server.baseUrl}/scene7/webservice/IpsApi${version}.wsdl`)
      const description = loaded.describe() as Record<string, Record<string, Record<string, unknown>>>
      expect(Object.keys(description.IpsApiService!.IpsApiSoapPort!)).toContain('deleteAsset')
    }
  })
})
