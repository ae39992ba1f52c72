import * as soap from 'soap'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'ns', 'asmx')
})

afterAll(async () => {
  await server?.close()
})

interface Answer {
  response: { attributes: Record<string, string>; document?: unknown; folder?: unknown }
}

const attributesOf = (result: Record<string, Answer>, method: string) =>
  result[`${method}Result`]!.response.attributes

/** node-soap lists one child as an object and several as an array. */
const children = (value: unknown) =>
  (Array.isArray(value) ? value : value ? [value] : []) as { attributes: Record<string, string> }[]

describe.each([
  ['SOAP 1.1', {}],
  ['SOAP 1.2', { forceSoap12Headers: true }],
])('a WSDL-driven client (node-soap, %s)', (_label, options) => {
  it('signs in, deletes, lists, restores, deletes again and purges', async () => {
    const client = await soap.createClientAsync(`${server.baseUrl}/srv.asmx?WSDL`, options)
    const lib = (
      await server.ctx.admin.createItem(f.tenantId, { kind: 'folder', name: `Lib ${_label}`, parentId: null })
    ).item
    const doc = (
      await server.ctx.admin.createItem(f.tenantId, {
        kind: 'file',
        name: 'Q1-2024-Report.pdf',
        parentId: lib.id,
        content: Buffer.from('report'),
      })
    ).item
    const editor = f.users.editor!
    const [auth] = await client.AuthenticateUserAsync({ UID: editor.login, PWD: editor.password })
    const ticket = attributesOf(auth, 'AuthenticateUser').ticket!
    expect(ticket).toMatch(/^[0-9a-f-]{36}$/)

    const [deleted] = await client.DeleteDocumentAsync({
      authenticationTicket: ticket,
      Path: `\\${lib.name}\\Q1-2024-Report.pdf`,
    })
    expect(attributesOf(deleted, 'DeleteDocument')).toEqual({ success: 'true', error: '' })

    const [bin] = await client.GetRecycleBinContentAsync({ AuthenticationTicket: ticket })
    const documents = children((bin.GetRecycleBinContentResult as Answer).response.document)
    expect(documents.map((d) => d.attributes.Handler)).toEqual([`D${doc.id}`])
    expect(documents[0]!.attributes).toMatchObject({
      Name: 'Q1-2024-Report.pdf',
      DeletePath: `\\${lib.name}`,
    })

    const [restored] = await client.RestoreRecycleBinItemAsync({
      AuthenticationTicket: ticket,
      ItemHandler: `D${doc.id}`,
      RestorePath: '',
    })
    expect(attributesOf(restored, 'RestoreRecycleBinItem')).toEqual({ success: 'true', error: '' })

    await client.DeleteDocumentAsync({
      authenticationTicket: ticket,
      Path: `\\${lib.name}\\Q1-2024-Report.pdf`,
    })
    const [denied] = await client.PurgeRecycleBinItemAsync({
      AuthenticationTicket: ticket,
      ItemHandler: `D${doc.id}`,
    })
    expect(attributesOf(denied, 'PurgeRecycleBinItem').error).toBe(
      'Only the system administrator can perform this operation',
    )
    const admin = f.users.admin!
    const [adminAuth] = await client.AuthenticateUserAsync({ UID: admin.login, PWD: admin.password })
    const [purged] = await client.PurgeRecycleBinItemAsync({
      AuthenticationTicket: attributesOf(adminAuth, 'AuthenticateUser').ticket,
      ItemHandler: `D${doc.id}`,
    })
    expect(attributesOf(purged, 'PurgeRecycleBinItem')).toEqual({ success: 'true', error: '' })
    const [empty] = await client.EmptyRecycleBinAsync({ AuthenticationTicket: ticket })
    expect(attributesOf(empty, 'EmptyRecycleBin')).toEqual({ success: 'true', error: '' })
    const [out] = await client.LogOutAsync({ AuthenticationTicket: ticket })
    expect(attributesOf(out, 'LogOut')).toEqual({ success: 'true', error: '' })
  })
})
