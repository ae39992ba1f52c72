import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type ConnectorRequest, PluginHost } from '../src/core/plugins.js'
import { envelope, fault, logOn, postEnterprise, responseBody } from './helpers/enterprise.js'
import {
  ADMIN_TOKEN,
  createFixture,
  type Fixture,
  startTestServer,
  type TestServer,
} from './helpers/server.js'

let server: TestServer
let f: Fixture
const tickets: Record<string, string> = {}

beforeAll(async () => {
  server = await startTestServer()
  f = await createFixture(server.ctx, 'eo', 'enterprise')
  for (const role of ['admin', 'editor', 'purger', 'viewer', 'outsider']) {
    tickets[role] = await logOn(server, f.users[role]!)
  }
})

afterAll(async () => {
  await server?.close()
})

async function file(name: string, content: string, contentType = 'text/plain', extra = {}) {
  const { item } = await server.ctx.admin.createItem(f.tenantId, {
    kind: 'file',
    name,
    type: 'Article',
    brandId: f.brandId,
    content: Buffer.from(content),
    contentType,
    ...extra,
  })
  return item.id
}

async function rest(method: string, url: string, body?: unknown) {
  const response = await fetch(`${server.baseUrl}/api/v1${url}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  return { status: response.status, json: (await response.json()) as Record<string, unknown> }
}

const b64 = (text: string) => Buffer.from(text).toString('base64')
const areas = (area?: string | null) =>
  area === undefined
    ? ''
    : area === null
      ? '<Areas xsi:nil="true"/>'
      : `<Areas><AreaType>${area}</AreaType></Areas>`

async function trash(ids: number[], role = 'purger') {
  const reply = await postEnterprise(
    server,
    envelope(
      `<ns1:DeleteObjects><Ticket>${tickets[role]}</Ticket><IDs>${ids.map((id) => `<String>${id}</String>`).join('')}</IDs>` +
        '<Permanent>false</Permanent><Areas><AreaType>Workflow</AreaType></Areas></ns1:DeleteObjects>',
    ),
  )
  expect(reply.text).toContain('<ns1:DeleteObjectsResponse>')
}

const getObjects = (role: string, ids: number[], rendition: string, area?: string | null, lock = false) =>
  postEnterprise(
    server,
    envelope(
      `<ns1:GetObjects><Ticket>${tickets[role]}</Ticket><IDs>${ids.map((id) => `<String>${id}</String>`).join('')}</IDs>` +
        `<Lock>${lock}</Lock><Rendition>${rendition}</Rendition><RequestInfo xsi:nil="true"/>` +
        `<HaveVersions xsi:nil="true"/>${areas(area)}<EditionId xsi:nil="true"/></ns1:GetObjects>`,
    ),
  )

const listVersions = (role: string, id: number, rendition: string, area?: string | null) =>
  postEnterprise(
    server,
    envelope(
      `<ns1:ListVersions><Ticket>${tickets[role]}</Ticket><ID>${id}</ID><Rendition>${rendition}</Rendition>${areas(area)}</ns1:ListVersions>`,
    ),
  )

const getVersion = (role: string, id: number, version: string, rendition: string, area?: string | null) =>
  postEnterprise(
    server,
    envelope(
      `<ns1:GetVersion><Ticket>${tickets[role]}</Ticket><ID>${id}</ID><Version>${version}</Version>` +
        `<Rendition>${rendition}</Rendition>${areas(area)}</ns1:GetVersion>`,
    ),
  )

const getDialog2 = (role: string, id: number, area?: string | null, action = 'Preview') =>
  postEnterprise(
    server,
    envelope(
      `<ns1:GetDialog2><Ticket>${tickets[role]}</Ticket><Action>${action}</Action><MetaData><MetaDataValue>` +
        `<Property>ID</Property><Values><String>${id}</String></Values><PropertyValues xsi:nil="true"/></MetaDataValue>` +
        `</MetaData><Targets xsi:nil="true"/>${areas(area)}</ns1:GetDialog2>`,
    ),
  )

describe('GetObjects', () => {
  it('returns a trashed object with Basic, Rights, Content and Workflow metadata (Deletor, Deleted) and its native file', async () => {
    const id = await file('trashed notes', 'notes v1')
    await trash([id])
    const row = await server.database.db.query(
      'select deleted_at from items where tenant_id = $1 and id = $2',
      [f.tenantId, id],
    )
    const deletedAt = (row.rows[0].deleted_at as Date).toISOString().slice(0, 19)
    const reply = await getObjects('editor', [id], 'native', 'Trash')
    expect(reply.status).toBe(200)
    const body = responseBody(reply.text, 'GetObjects')
    expect(body).toBe(
      '<Objects><Object><MetaData>' +
        `<BasicMetaData><ID>${id}</ID><DocumentID/><Name>trashed notes</Name><Type>Article</Type>` +
        `<Publication><Id>${f.brandId}</Id><Name>eo brand</Name></Publication><Category xsi:nil="true"/><ContentSource/></BasicMetaData>` +
        '<RightsMetaData><CopyrightMarked>false</CopyrightMarked><Copyright/><CopyrightURL/></RightsMetaData>' +
        '<SourceMetaData xsi:nil="true"/>' +
        '<ContentMetaData><Description xsi:nil="true"/><Format>text/plain</Format><FileSize>8</FileSize></ContentMetaData>' +
        `<WorkflowMetaData><Deadline xsi:nil="true"/><Modifier/>${body.match(/<Modified>.*?<\/Modified>/)![0]}<Creator/>` +
        `${body.match(/<Created>.*?<\/Created>/)![0]}<Comment/><State xsi:nil="true"/><RouteTo/><LockedBy/><Version>0.1</Version>` +
        `<Deletor>${f.users.purger!.login}</Deletor><Deleted>${deletedAt}</Deleted></WorkflowMetaData><ExtraMetaData/></MetaData>` +
        '<Relations xsi:nil="true"/><Pages xsi:nil="true"/><Files><Attachment><Rendition>native</Rendition>' +
        '<Type>text/plain</Type><Content xsi:nil="true"/><FilePath/>' +
        `<FileUrl>${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&amp;rendition=native&amp;areas=Trash</FileUrl>` +
        '<EditionId xsi:nil="true"/></Attachment></Files><Messages xsi:nil="true"/><Elements xsi:nil="true"/><Targets/>' +
        '</Object></Objects>',
    )
  })

  it('a v7 call (no Areas) reads the Workflow, where a trashed object is not found; Areas nil reads the Workflow too', async () => {
    const active = await file('active sheet', 'sheet')
    const trashed = await file('gone sheet', 'gone')
    await trash([trashed])
    const v7 = await getObjects('editor', [active], 'none')
    expect(responseBody(v7.text, 'GetObjects')).toContain(`<ID>${active}</ID>`)
    expect(responseBody(v7.text, 'GetObjects')).toContain('<Files/>')
    // not trashed: no Deletor/Deleted
    expect(v7.text).toContain('<Deletor xsi:nil="true"/><Deleted xsi:nil="true"/>')
    expect(fault((await getObjects('editor', [trashed], 'none')).text)).toEqual({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'The database record could not be found. (S1029)',
      detail: `SCEntError_ObjectNotFound: ${trashed}`,
    })
    expect(fault((await getObjects('editor', [trashed], 'none', null)).text).detail).toBe(
      `SCEntError_ObjectNotFound: ${trashed}`,
    )
    // and an active object is not in the Trash
    expect(fault((await getObjects('editor', [active], 'none', 'Trash')).text).detail).toBe(
      `SCEntError_ObjectNotFound: ${active}`,
    )
  })

  it('refuses Lock=true in the Trash Can', async () => {
    const id = await file('locked try', 'x')
    await trash([id])
    expect(fault((await getObjects('purger', [id], 'native', 'Trash', true)).text)).toEqual({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'Missing function parameter (S1000)',
      detail: 'Objects in the Trash Can cannot be locked.',
    })
  })

  it('rights: no view and no read are denied, admins read everything', async () => {
    const id = await file('secret plan', 'plan')
    await trash([id])
    expect(fault((await getObjects('outsider', [id], 'none', 'Trash')).text)).toMatchObject({
      faultstring: 'Access denied (S1002)',
      detail: `${id}(R)`,
    })
    // the viewer keeps View but loses Read on the brand
    await server.ctx.admin.setAccess(f.tenantId, f.brandId, f.users.viewer!.id, {
      view: true,
      delete: false,
      purge: false,
      read: false,
    })
    try {
      expect(fault((await getObjects('viewer', [id], 'none', 'Trash')).text).faultstring).toBe(
        'Access denied (S1002)',
      )
      const download = await fetch(
        `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=native&areas=Trash&ticket=${tickets.viewer}`,
      )
      expect(download.status).toBe(403)
      expect(await download.text()).toBe('Access denied (S1002)')
    } finally {
      await server.ctx.admin.setAccess(f.tenantId, f.brandId, f.users.viewer!.id, {
        view: true,
        delete: false,
        purge: false,
      })
    }
    const admin = await getObjects('admin', [id], 'native', 'Trash')
    expect(responseBody(admin.text, 'GetObjects')).toContain('<Name>secret plan</Name>')
  })

  it('a missing rendition: no Attachment in Files, and fileindex.php answers 404', async () => {
    const id = await file('plain text', 'no preview here')
    await trash([id])
    const reply = await getObjects('purger', [id], 'preview', 'Trash')
    expect(responseBody(reply.text, 'GetObjects')).toContain('<Files/>')
    const download = await fetch(
      `${server.baseUrl}/Enterprise/fileindex.php?objectid=${id}&rendition=thumb&areas=Trash&ticket=${tickets.purger}`,
    )
    expect(download.status).toBe(404)
    expect(await download.text()).toBe('The database record could not be found. (S1029)')
    // an image derives its preview and thumb from itself
    const image = await file('photo.png', 'PNGDATA', 'image/png')
    const preview = await getObjects('purger', [image], 'thumb')
    expect(responseBody(preview.text, 'GetObjects')).toContain(
      '<Attachment><Rendition>thumb</Rendition><Type>image/png</Type>',
    )
  })
})

describe('ListVersions and GetVersion', () => {
  it('list every version in either area; GetVersion serves one; unknown versions are not found', async () => {
    const id = await file('versioned', 'one')
    expect(
      (await rest('POST', `/tenants/${f.tenantId}/items/${id}/versions`, { content: b64('two') })).json,
    ).toEqual({
      version: '0.2',
    })
    expect(
      (
        await rest('POST', `/tenants/${f.tenantId}/items/${id}/versions`, {
          content: b64('three'),
          major: true,
        })
      ).json,
    ).toEqual({ version: '1.0' })
    const workflow = await listVersions('editor', id, 'none')
    expect([...workflow.text.matchAll(/<Version>(.*?)<\/Version>/g)].map((m) => m[1])).toEqual([
      '0.1',
      '0.2',
      '1.0',
    ])
    expect(workflow.text).toContain('<File xsi:nil="true"/>')

    await trash([id])
    expect(fault((await listVersions('editor', id, 'none', 'Workflow')).text).faultstring).toBe(
      'The database record could not be found. (S1029)',
    )
    const inTrash = await listVersions('editor', id, 'native', 'Trash')
    expect([...inTrash.text.matchAll(/<Version>(.*?)<\/Version>/g)].map((m) => m[1])).toEqual([
      '0.1',
      '0.2',
      '1.0',
    ])

    const one = await getVersion('editor', id, '0.2', 'native', 'Trash')
    const url = /<FileUrl>(.*?)<\/FileUrl>/.exec(one.text)![1]!.replace(/&amp;/g, '&')
    expect(url).toContain('version=0.2')
    expect(await (await fetch(`${url}&ticket=${tickets.editor}`)).text()).toBe('two')
    // "1" names version 1.0
    expect(responseBody((await getVersion('editor', id, '1', 'none', 'Trash')).text, 'GetVersion')).toContain(
      '<Version>1.0</Version>',
    )
    expect(fault((await getVersion('editor', id, '3.0', 'none', 'Trash')).text)).toMatchObject({
      faultstring: 'The database record could not be found. (S1029)',
      detail: `${id} 3.0`,
    })
    expect(fault((await getVersion('outsider', id, '0.1', 'none', 'Trash')).text).faultstring).toBe(
      'Access denied (S1002)',
    )
  })

  it('a v7 GetVersion (no Areas) reads the Workflow', async () => {
    const id = await file('v7 versioned', 'only')
    const reply = await getVersion('viewer', id, '0.1', 'native')
    expect(responseBody(reply.text, 'GetVersion')).toContain('<Version>0.1</Version>')
  })
})

describe('GetDialog2', () => {
  it('shows a trashed object as the Preview dialog: read-only, with Deleted and Deletor', async () => {
    const id = await file('dialog object', 'd')
    await trash([id])
    const reply = await getDialog2('editor', id, 'Trash')
    const body = responseBody(reply.text, 'GetDialog2')
    expect(
      body.startsWith('<Dialog><Title>Preview</Title><Tabs><DialogTab><Title>General</Title><Widgets>'),
    ).toBe(true)
    expect(body).not.toContain('<Editable>true</Editable>')
    expect(body).toContain(
      '<PropertyInfo><Name>Deletor</Name><DisplayName>Deleted By</DisplayName><Category xsi:nil="true"/><Type>string</Type>',
    )
    expect(body).toContain(
      `<MetaDataValue><Property>Deletor</Property><Values><String>${f.users.purger!.login}</String></Values>`,
    )
    expect(body).toContain('<MetaDataValue><Property>Deleted</Property>')
    // the Workflow shows no Deleted/Deletor, and the trashed object is not there
    expect(fault((await getDialog2('editor', id)).text).detail).toBe(`SCEntError_ObjectNotFound: ${id}`)
    const active = await file('dialog active', 'a')
    const workflow = responseBody((await getDialog2('editor', active)).text, 'GetDialog2')
    expect(workflow).toContain('<Property>Name</Property><Values><String>dialog active</String></Values>')
    expect(workflow).not.toContain('Deletor')
    // the Trash Can shows Preview and Set Properties dialogs (read-only); other actions are refused as v8 does
    const setProperties = responseBody(
      (await getDialog2('editor', id, 'Trash', 'SetProperties')).text,
      'GetDialog2',
    )
    expect(setProperties).toContain('<Title>Set Properties</Title>')
    expect(setProperties).not.toContain('<Editable>true</Editable>')
    expect(fault((await getDialog2('editor', id, 'Trash', 'CheckIn')).text)).toMatchObject({
      faultstring: 'Access denied (S1002)',
      detail:
        'GetDialog2 service: When the object is from Trash area, only Preview and Set Properties are allowed.',
    })
    expect(fault((await getDialog2('outsider', id, 'Trash')).text).faultstring).toBe('Access denied (S1002)')
  })
})

describe('SetObjectProperties (admin moves)', () => {
  it('an admin moves a trashed object to another issue, the plug-ins see Areas Trash, and the emptied issue can be removed', async () => {
    const oldIssue = await server.ctx.admin.createIssue(f.tenantId, f.brandId, 'old issue')
    const newIssue = await server.ctx.admin.createIssue(f.tenantId, f.brandId, 'new issue')
    const category = await server.ctx.admin.createCategory(f.tenantId, f.brandId, 'news')
    const id = await file('old story', 's', 'text/plain', { issueId: oldIssue })
    await trash([id])
    expect((await rest('DELETE', `/tenants/${f.tenantId}/issues/${oldIssue}`)).status).toBe(409)

    const seen: ConnectorRequest[] = []
    const original = server.ctx.plugins
    server.ctx.plugins = new PluginHost([
      {
        name: 'recorder',
        before: (request) => {
          seen.push(request)
          return undefined
        },
      },
    ])
    const move = (role: string) =>
      postEnterprise(
        server,
        envelope(
          `<ns1:SetObjectProperties><Ticket>${tickets[role]}</Ticket><ID>${id}</ID><MetaData><BasicMetaData>` +
            `<ID>${id}</ID><Name>old story</Name><Category><Id>${category}</Id><Name>news</Name></Category></BasicMetaData>` +
            `</MetaData><Targets><Target><PubChannel xsi:nil="true"/><Issue><Id>${newIssue}</Id><Name>new issue</Name></Issue>` +
            '</Target></Targets><Areas><AreaType>Trash</AreaType></Areas></ns1:SetObjectProperties>',
        ),
      )
    try {
      expect(fault((await move('purger')).text).faultstring).toBe('Access denied (S1002)')
      const reply = await move('admin')
      const body = responseBody(reply.text, 'SetObjectProperties')
      expect(body).toContain(`<Category><Id>${category}</Id><Name>news</Name></Category>`)
      expect(body).toContain(
        `<Targets><Target><PubChannel xsi:nil="true"/><Issue><Id>${newIssue}</Id><Name>new issue</Name></Issue>`,
      )
    } finally {
      server.ctx.plugins = original
    }
    expect(seen).toEqual([
      expect.objectContaining({ operation: 'SetObjectProperties', ids: [id], areas: ['Trash'] }),
    ])
    const row = await server.database.db.query(
      'select state, issue_id, category_id from items where tenant_id = $1 and id = $2',
      [f.tenantId, id],
    )
    expect(row.rows[0]).toEqual({ state: 'trashed', issue_id: newIssue, category_id: category })
    expect((await rest('DELETE', `/tenants/${f.tenantId}/issues/${oldIssue}`)).status).toBe(200)
  })

  it('moves an object in the Workflow too, and refuses renames', async () => {
    const category = await server.ctx.admin.createCategory(f.tenantId, f.brandId, 'sports')
    const id = await file('workflow story', 'w')
    const reply = await postEnterprise(
      server,
      envelope(
        `<ns1:SetObjectProperties><Ticket>${tickets.admin}</Ticket><ID>${id}</ID><MetaData><BasicMetaData>` +
          `<Category><Id>${category}</Id><Name>sports</Name></Category></BasicMetaData></MetaData></ns1:SetObjectProperties>`,
      ),
    )
    expect(responseBody(reply.text, 'SetObjectProperties')).toContain(`<Category><Id>${category}</Id>`)
    const renamed = await postEnterprise(
      server,
      envelope(
        `<ns1:SetObjectProperties><Ticket>${tickets.admin}</Ticket><ID>${id}</ID><MetaData><BasicMetaData>` +
          '<Name>other name</Name></BasicMetaData></MetaData></ns1:SetObjectProperties>',
      ),
    )
    expect(fault(renamed.text).faultstring).toBe('Not allowed to perform this operation. (S1072)')
    // an issue of another brand is refused
    const otherBrand = await server.ctx.admin.createBrand(f.tenantId, 'eo other brand')
    const foreignIssue = await server.ctx.admin.createIssue(f.tenantId, otherBrand, 'foreign issue')
    const foreign = await postEnterprise(
      server,
      envelope(
        `<ns1:SetObjectProperties><Ticket>${tickets.admin}</Ticket><ID>${id}</ID><MetaData><BasicMetaData/></MetaData>` +
          `<Targets><Target><Issue><Id>${foreignIssue}</Id><Name>foreign issue</Name></Issue></Target></Targets></ns1:SetObjectProperties>`,
      ),
    )
    expect(fault(foreign.text)).toMatchObject({
      faultstring: 'Missing function parameter (S1000)',
      detail: `Issue ${foreignIssue} belongs to another brand`,
    })
    const row = await server.database.db.query(
      'select issue_id from items where tenant_id = $1 and id = $2',
      [f.tenantId, id],
    )
    expect(row.rows[0].issue_id).toBeNull()
  })
})

describe('NamedQuery', () => {
  it('never reaches the Trash Can', async () => {
    const reply = await postEnterprise(
      server,
      envelope(
        `<ns1:NamedQuery><Ticket>${tickets.admin}</Ticket><Query>Trash Can</Query><Params xsi:nil="true"/>` +
          '<Areas><AreaType>Trash</AreaType></Areas></ns1:NamedQuery>',
      ),
    )
    expect(fault(reply.text)).toEqual({
      faultcode: 'SOAP-ENV:Client',
      faultstring: 'Missing function parameter (S1000)',
      detail: 'Named queries do not search the Trash Can. Use QueryObjects with Areas=Trash.',
    })
    const unknown = await postEnterprise(
      server,
      envelope(`<ns1:NamedQuery><Ticket>${tickets.admin}</Ticket><Query>Inbox</Query></ns1:NamedQuery>`),
    )
    expect(fault(unknown.text)).toMatchObject({
      faultstring: 'The database record could not be found. (S1029)',
      detail: 'Inbox',
    })
  })
})

describe('Trash Can columns', () => {
  it('a tenant setting chooses the columns QueryObjects returns for the Trash', async () => {
    const tenant = `/tenants/${f.tenantId}/trash-columns`
    const standard = (await rest('GET', tenant)).json.columns as string[]
    expect(standard.slice(-2)).toEqual(['Deleted', 'Deletor'])
    expect(standard.slice(0, 3)).toEqual(['ID', 'Type', 'Name'])
    expect((await rest('PUT', tenant, { columns: ['Deletor', 'FileSize'] })).json).toEqual({
      columns: ['Deletor', 'FileSize'],
    })
    const id = await file('column check', 'c')
    await trash([id])
    const query = await postEnterprise(
      server,
      envelope(
        `<ns1:QueryObjects><Ticket>${tickets.admin}</Ticket><Params><QueryParam><Property>ID</Property>` +
          `<Operation>=</Operation><Value>${id}</Value></QueryParam></Params><Areas><AreaType>Trash</AreaType></Areas></ns1:QueryObjects>`,
      ),
    )
    const names = [
      ...responseBody(query.text, 'QueryObjects').matchAll(/<Property><Name>(.*?)<\/Name>/g),
    ].map((m) => m[1])
    expect(names).toEqual(['ID', 'Type', 'Name', 'Deletor', 'FileSize'])
    expect((await rest('PUT', tenant, { columns: null })).json.columns).toEqual(standard)
    expect((await rest('PUT', tenant, { columns: ['bad name!'] })).status).toBe(422)
  })
})

describe('purge', () => {
  it('removes every version file and rendition of an object, then its version rows', async () => {
    const id = await file('many versions', 'v1')
    await rest('POST', `/tenants/${f.tenantId}/items/${id}/versions`, {
      content: b64('v2'),
      preview: b64('p2'),
      thumb: b64('t2'),
    })
    await rest('POST', `/tenants/${f.tenantId}/items/${id}/versions`, { content: b64('v3'), major: true })
    const keys = await server.database.db.query<{ key: string }>(
      `select unnest(array[blob_key, thumb_blob_key, preview_blob_key]) as key
         from item_versions where tenant_id = $1 and item_id = $2`,
      [f.tenantId, id],
    )
    const stored = keys.rows.map((row) => row.key).filter(Boolean)
    expect(stored).toHaveLength(5)
    for (const key of stored) expect(await server.ctx.blobs.exists(key)).toBe(true)
    await trash([id])
    const reply = await postEnterprise(
      server,
      envelope(
        `<ns1:DeleteObjects><Ticket>${tickets.purger}</Ticket><IDs><String>${id}</String></IDs>` +
          '<Permanent>true</Permanent><Areas><AreaType>Trash</AreaType></Areas></ns1:DeleteObjects>',
      ),
    )
    expect(responseBody(reply.text, 'DeleteObjects')).toBe(`<IDs><String>${id}</String></IDs><Reports/>`)
    for (const key of stored) expect(await server.ctx.blobs.exists(key)).toBe(false)
    const left = await server.database.db.query(
      'select (select count(*) from items where tenant_id = $1 and id = $2)::int as items, (select count(*) from item_versions where tenant_id = $1 and item_id = $2)::int as versions',
      [f.tenantId, id],
    )
    expect(left.rows[0]).toEqual({ items: 0, versions: 0 })
  })

  it('a version is only added to an active file', async () => {
    const id = await file('trashed target', 't')
    await trash([id])
    expect(
      (await rest('POST', `/tenants/${f.tenantId}/items/${id}/versions`, { content: b64('x') })).status,
    ).toBe(404)
  })
})
