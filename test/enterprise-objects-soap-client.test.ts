import * as soap from 'soap'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ADMIN_TOKEN,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

let server: TestServer
let f: Fixture

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'ov', 'enterprise')
})

afterAll(async () => {
  await server?.close()
})

async function addVersion(id: number, body: Record<string, unknown>) {
  const response = await fetch(`${server.baseUrl}/api/v1/tenants/${f.tenantId}/items/${id}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  expect(response.status).toBe(201)
  return (await response.json()) as { version: string }
}

describe('node-soap, from the WSDL the server serves', () => {
  it('DeleteObjects (v8) → GetObjects (Trash, preview) → FileUrl → ListVersions (Trash) → GetVersion → RestoreObjects', async () => {
    const created = await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name: 'cover story',
      type: 'Article',
      brandId: f.brandId,
      content: Buffer.from('first draft'),
      contentType: 'text/plain',
    })
    const id = created.item.id
    expect(
      await addVersion(id, {
        content: Buffer.from('final text').toString('base64'),
        contentType: 'text/plain',
        preview: Buffer.from('PREVIEW-JPEG-BYTES').toString('base64'),
        comment: 'ready for print',
        major: true,
        createdBy: f.users.editor!.id,
      }),
    ).toEqual({ version: '1.0' })

    const client = await soap.createClientAsync(`${server.baseUrl}/Enterprise/index.php?wsdl`)
    const [logOn] = await client.LogOnAsync({
      User: f.users.purger!.login,
      Password: f.users.purger!.password,
      ClientName: 'node-soap',
      ClientAppName: 'trashd test',
    })
    const ticket: string = logOn.Ticket

    const [deleted] = await client.DeleteObjectsAsync({
      Ticket: ticket,
      IDs: { String: [String(id)] },
      Permanent: false,
      Areas: { AreaType: ['Workflow'] },
    })
    expect(deleted.IDs.String).toEqual([String(id)])

    const [got] = await client.GetObjectsAsync({
      Ticket: ticket,
      IDs: { String: [String(id)] },
      Lock: false,
      Rendition: 'preview',
      Areas: { AreaType: ['Trash'] },
    })
    const object = got.Objects.Object[0]
    expect(object.MetaData.BasicMetaData).toMatchObject({
      ID: String(id),
      Name: 'cover story',
      Type: 'Article',
      Publication: { Id: String(f.brandId), Name: 'ov brand' },
    })
    expect(object.MetaData.WorkflowMetaData).toMatchObject({
      Version: '1.0',
      Deletor: f.users.purger!.login,
      Modifier: f.users.editor!.login,
    })
    expect(object.MetaData.WorkflowMetaData.Deleted).toBeInstanceOf(Date)
    expect(object.MetaData.ContentMetaData).toMatchObject({ Format: 'text/plain', FileSize: '10' })
    const file = object.Files.Attachment[0]
    expect(file).toMatchObject({ Rendition: 'preview', Type: 'image/jpeg' })
    expect(file.FileUrl).toBe(
      `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=preview&areas=Trash`,
    )

    // the FileUrl streams to a holder of a valid ticket only
    const refused = await fetch(file.FileUrl)
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('(S1043)')
    const download = await fetch(`${file.FileUrl}&ticket=${ticket}`)
    expect(download.status).toBe(200)
    expect(download.headers.get('content-type')).toBe('image/jpeg')
    expect(await download.text()).toBe('PREVIEW-JPEG-BYTES')

    const [listed] = await client.ListVersionsAsync({
      Ticket: ticket,
      ID: String(id),
      Rendition: 'native',
      Areas: { AreaType: ['Trash'] },
    })
    const versions = listed.Versions.VersionInfo
    expect(versions.map((v: { Version: string }) => v.Version)).toEqual(['0.1', '1.0'])
    expect(versions[1]).toMatchObject({
      User: f.users.editor!.login,
      Comment: 'ready for print',
      Object: 'cover story',
    })
    const first = await fetch(`${versions[0].File.FileUrl}&ticket=${ticket}`)
    expect(await first.text()).toBe('first draft')

    const [version] = await client.GetVersionAsync({
      Ticket: ticket,
      ID: String(id),
      Version: '0.1',
      Rendition: 'native',
      Areas: { AreaType: ['Trash'] },
    })
    expect(version.VersionInfo).toMatchObject({ Version: '0.1', Object: 'cover story' })
    expect(version.VersionInfo.File).toMatchObject({ Rendition: 'native', Type: 'text/plain' })
    expect(version.VersionInfo.File.FileUrl).toContain('version=0.1')
    expect(await (await fetch(`${version.VersionInfo.File.FileUrl}&ticket=${ticket}`)).text()).toBe(
      'first draft',
    )

    const [restored] = await client.RestoreObjectsAsync({ Ticket: ticket, IDs: { String: [String(id)] } })
    expect(restored.IDs.String).toEqual([String(id)])
    const row = await server.database.db.query(
      'select state, blob_key from items where tenant_id = $1 and id = $2',
      [f.tenantId, id],
    )
    expect(row.rows[0].state).toBe('active')
    // restored with every version: the Workflow area now lists both
    const [again] = await client.ListVersionsAsync({ Ticket: ticket, ID: String(id), Rendition: 'none' })
    expect(again.Versions.VersionInfo.map((v: { Version: string }) => v.Version)).toEqual(['0.1', '1.0'])
    expect(
      await (
        await fetch(
          `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=native&ticket=${ticket}`,
        )
      ).text(),
    ).toBe('final text')
  })
})
