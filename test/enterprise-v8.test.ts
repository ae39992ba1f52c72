import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConnectorRequest, type ConnectorResponse, PluginHost } from '../src/core/plugins.js'
import { deleteObjects, envelope, fault, logOn, postEnterprise, responseBody } from './helpers/enterprise.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

/** What WoodWing Enterprise 8 clients and connectors get that v7 ones did not (seed 004). */

let server: TestServer
let f: Fixture
const tickets: Record<string, string> = {}

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'v8', 'enterprise')
  for (const role of ['admin', 'editor', 'purger', 'outsider'])
    tickets[role] = await logOn(server, f.users[role]!)
})

afterAll(async () => {
  await server?.close()
})

async function object(name: string, extra: Record<string, unknown> = {}) {
  const { item } = await server.ctx.admin.createItem(f.tenantId, {
    kind: 'file',
    name,
    type: 'Article',
    brandId: f.brandId,
    content: Buffer.from(name),
    contentType: 'text/plain',
    ...extra,
  })
  return item.id
}

const send = (body: string) => postEnterprise(server, envelope(body))
const trash = (id: number, role = 'purger') =>
  postEnterprise(server, deleteObjects(tickets[role]!, { ids: [id], permanent: false, areas: ['Workflow'] }))
const restore = (id: number, role = 'purger') =>
  send(
    `<ns1:RestoreObjects><Ticket>${tickets[role]}</Ticket><IDs><String>${id}</String></IDs></ns1:RestoreObjects>`,
  )

async function deletedOf(id: number) {
  const row = await server.ctx.db.query('select deleted_at from items where tenant_id = $1 and id = $2', [
    f.tenantId,
    id,
  ])
  return (row.rows[0]!.deleted_at as Date).toISOString().slice(0, 19)
}

describe('nil means not given', () => {
  it('SetObjectProperties takes <Category xsi:nil="true"/> and a whole nil-laden MetaData as "leave it"', async () => {
    const issue = await server.ctx.admin.createIssue(f.tenantId, f.brandId, 'nil issue')
    const id = await object('nil story', { issueId: issue })
    const reply = await send(
      `<ns1:SetObjectProperties><Ticket>${tickets.admin}</Ticket><ID>${id}</ID><MetaData>` +
        `<BasicMetaData><ID>${id}</ID><DocumentID xsi:nil="true"/><Name>nil story</Name><Type>Article</Type>` +
        `<Publication><Id>${f.brandId}</Id><Name>v8 brand</Name></Publication><Category xsi:nil="true"/>` +
        '<ContentSource xsi:nil="true"/></BasicMetaData><RightsMetaData xsi:nil="true"/><SourceMetaData xsi:nil="true"/>' +
        '<ContentMetaData xsi:nil="true"/><WorkflowMetaData><Deadline xsi:nil="true"/><Deletor xsi:nil="true"/>' +
        '<Deleted xsi:nil="true"/></WorkflowMetaData><ExtraMetaData xsi:nil="true"/></MetaData>' +
        `<Targets><Target><PubChannel xsi:nil="true"/><Issue><Id>${issue}</Id><Name>nil issue</Name></Issue>` +
        '<Editions xsi:nil="true"/></Target></Targets><Areas xsi:nil="true"/></ns1:SetObjectProperties>',
    )
    expect(reply.text).toContain('<ns1:SetObjectPropertiesResponse>')
    const nilIssue = await send(
      `<ns1:SetObjectProperties><Ticket>${tickets.admin}</Ticket><ID>${id}</ID><MetaData><BasicMetaData>` +
        '<Category><Id xsi:nil="true"/><Name xsi:nil="true"/></Category></BasicMetaData></MetaData>' +
        '<Targets xsi:nil="true"/><Areas xsi:nil="true"/></ns1:SetObjectProperties>',
    )
    expect(nilIssue.text).toContain('<ns1:SetObjectPropertiesResponse>')
    const row = await server.ctx.db.query('select issue_id, category_id from items where id = $1', [id])
    expect(row.rows[0]).toEqual({ issue_id: issue, category_id: null })
  })
})

describe('GetDialog (the v7 form v8 still answers)', () => {
  const getDialog = (id: number, action: string, area: string | null, flags = true) =>
    send(
      `<ns1:GetDialog><Ticket>${tickets.editor}</Ticket><ID>${id}</ID><Publication xsi:nil="true"/><Issue xsi:nil="true"/>` +
        `<Section xsi:nil="true"/><State xsi:nil="true"/><Type xsi:nil="true"/><Action>${action}</Action>` +
        `<RequestDialog>${flags}</RequestDialog><RequestPublication>${flags}</RequestPublication>` +
        `<RequestMetaData>${flags}</RequestMetaData><RequestStates>false</RequestStates><RequestTargets>${flags}</RequestTargets>` +
        '<DefaultDossier xsi:nil="true"/><Parent xsi:nil="true"/><Template xsi:nil="true"/>' +
        `${area ? `<Areas><AreaType>${area}</AreaType></Areas>` : '<Areas xsi:nil="true"/>'}</ns1:GetDialog>`,
    )

  it('shows a trashed object’s properties read-only, with Deleted and Deletor, in the parts asked for', async () => {
    const id = await object('dialog story')
    await trash(id)
    const deleted = await deletedOf(id)
    for (const action of ['Preview', 'SetProperties']) {
      const body = responseBody((await getDialog(id, action, 'Trash')).text, 'GetDialog')
      expect(
        body.startsWith(`<Dialog><Title>${action === 'Preview' ? 'Preview' : 'Set Properties'}</Title>`),
      ).toBe(true)
      expect(body).toContain('<Editable>false</Editable>')
      expect(body).not.toContain('<Editable>true</Editable>')
      // the v7 dialog MetaData: Values only, no ID
      expect(body).toContain(
        `<MetaDataValue><Property>Deletor</Property><Values><String>${f.users.purger!.login}</String></Values></MetaDataValue>`,
      )
      expect(body).toContain(`<MetaDataValue><Property>Deleted</Property><Values><String>${deleted}</String>`)
      expect(body).not.toContain('<Property>ID</Property>')
      expect(body).toContain(
        `<Publications><Publication><Id>${f.brandId}</Id><Name>v8 brand</Name></Publication>`,
      )
      expect(body).toContain(`<PublicationInfo><Id>${f.brandId}</Id><Name>v8 brand</Name>`)
      expect(body).toContain(
        `<Deletor>${f.users.purger!.login}</Deletor><Deleted>${deleted}</Deleted></WorkflowMetaData>`,
      )
      expect(body).toContain(
        '<GetStatesResponse xsi:nil="true"/><Targets/><RelatedTargets/><Dossiers xsi:nil="true"/>',
      )
    }
    const bare = responseBody((await getDialog(id, 'Preview', 'Trash', false)).text, 'GetDialog')
    expect(bare).toBe(
      '<Dialog xsi:nil="true"/><Publications xsi:nil="true"/><PublicationInfo xsi:nil="true"/><MetaData xsi:nil="true"/>' +
        '<GetStatesResponse xsi:nil="true"/><Targets xsi:nil="true"/><RelatedTargets xsi:nil="true"/><Dossiers xsi:nil="true"/>',
    )
  })

  it('allows only Preview and Set Properties in the Trash Can (S1002), and finds trashed objects only there', async () => {
    const id = await object('dialog refused')
    await trash(id)
    const refused = fault((await getDialog(id, 'CheckIn', 'Trash')).text)
    expect(refused.faultstring).toBe('Access denied (S1002)')
    expect(refused.detail).toBe(
      'GetDialog service: When the object is from Trash area, only Preview and Set Properties are allowed.',
    )
    expect(fault((await getDialog(id, 'Preview', null)).text).detail).toBe(`SCEntError_ObjectNotFound: ${id}`)
    const active = await object('dialog active')
    const workflow = responseBody((await getDialog(active, 'Preview', 'Workflow')).text, 'GetDialog')
    expect(workflow).toContain('<Property>Name</Property><Values><String>dialog active</String></Values>')
    expect(workflow).not.toContain('<Property>Deletor</Property>')
  })
})

describe('Deleted and Deletor after a restore (seed 004: they remain untouched)', () => {
  it('GetObjects and QueryObjects show the last delete of a restored object', async () => {
    const id = await object('restored story')
    await trash(id)
    const deleted = await deletedOf(id)
    expect((await restore(id)).text).toContain('<ns1:RestoreObjectsResponse>')
    const objects = responseBody(
      (
        await send(
          `<ns1:GetObjects><Ticket>${tickets.editor}</Ticket><IDs><String>${id}</String></IDs><Lock>false</Lock>` +
            '<Rendition>none</Rendition><Areas><AreaType>Workflow</AreaType></Areas></ns1:GetObjects>',
        )
      ).text,
      'GetObjects',
    )
    expect(objects).toContain(
      `<Version>0.1</Version><Deletor>${f.users.purger!.login}</Deletor><Deleted>${deleted}</Deleted>`,
    )
    const query = responseBody(
      (
        await send(
          `<ns1:QueryObjects><Ticket>${tickets.editor}</Ticket><Params><QueryParam><Property>ID</Property>` +
            `<Operation>=</Operation><Value>${id}</Value></QueryParam></Params><RequestProps><String>ID</String>` +
            '<String>Deleted</String><String>Deletor</String></RequestProps><Areas><AreaType>Workflow</AreaType></Areas></ns1:QueryObjects>',
        )
      ).text,
      'QueryObjects',
    )
    expect(query).toContain(
      `<Rows><Row><String>${id}</String><String>Article</String><String>restored story</String><String>${deleted}</String><String>${f.users.purger!.login}</String></Row></Rows>`,
    )
  })
})

describe('events carry the object’s Version', () => {
  it('DeleteObject #4 and RestoreObject #23 with 0.1, and the current version after a new one', async () => {
    const plain = await object('versioned plain')
    const versioned = await object('versioned story')
    await server.ctx.objects.addVersion(f.tenantId, versioned, { content: Buffer.from('second') })
    const [{ id: cursor }] = (
      await server.ctx.db.query<{ id: number }>('select coalesce(max(id), 0)::int as id from audit')
    ).rows as [{ id: number }]
    await trash(plain)
    await trash(versioned)
    await restore(versioned)
    await postEnterprise(
      server,
      deleteObjects(tickets.purger!, { ids: [versioned], permanent: true, areas: ['Workflow'] }),
    )
    const events = await server.ctx.events.replay(f.tenantId, cursor, 100)
    expect(events.map((e) => [e.type, e.data.ID, e.data.Version, e.data.Permanent ?? ''])).toEqual([
      ['DeleteObject', String(plain), '0.1', 'false'],
      ['DeleteObject', String(versioned), '0.2', 'false'],
      ['RestoreObject', String(versioned), '0.2', ''],
      ['DeleteObject', String(versioned), '0.2', 'true'],
    ])
  })
})

describe('plug-in connectors', () => {
  it('after-hooks get the objects with WorkflowMetaData Deleted and Deletor set, for delete, purge and restore', async () => {
    const seen: [ConnectorRequest, ConnectorResponse][] = []
    const original = server.ctx.plugins
    server.ctx.plugins = new PluginHost([
      { name: 'recorder', after: (request, response) => void seen.push([request, response]) },
    ])
    try {
      const trashed = await object('hook trashed')
      const purged = await object('hook purged')
      await trash(trashed)
      const deleted = await deletedOf(trashed)
      await restore(trashed)
      await postEnterprise(
        server,
        deleteObjects(tickets.purger!, { ids: [purged], permanent: true, areas: ['Workflow'] }),
      )
      const meta = (index: number) => seen[index]![1].objects![0]!.MetaData
      expect(seen.map(([request]) => [request.operation, request.permanent])).toEqual([
        ['DeleteObjects', false],
        ['RestoreObjects', false],
        ['DeleteObjects', true],
      ])
      expect(meta(0).BasicMetaData).toMatchObject({
        ID: String(trashed),
        Name: 'hook trashed',
        Type: 'Article',
      })
      expect(meta(0).WorkflowMetaData).toMatchObject({
        Deleted: deleted,
        Deletor: f.users.purger!.login,
        Version: '0.1',
      })
      expect(meta(1).WorkflowMetaData).toMatchObject({ Deleted: deleted, Deletor: f.users.purger!.login })
      // purged straight from the Workflow: deleted by the purger at that moment
      expect(meta(2).BasicMetaData.ID).toBe(String(purged))
      expect(meta(2).WorkflowMetaData.Deletor).toBe(f.users.purger!.login)
      expect(meta(2).WorkflowMetaData.Deleted).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/)
    } finally {
      server.ctx.plugins = original
    }
  })
})
