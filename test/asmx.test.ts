import { existsSync } from 'node:fs'
import { Writable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createLogger, redactUrl } from '../src/context.js'
import { ticketHash } from '../src/core/auth-service.js'
import { buildApp } from '../src/http/app.js'
import { parseXml } from '../src/protocols/soap/xml.js'
import type { FsBlobStore } from '../src/storage/fs-blob-store.js'
import {
  asmx,
  responseXml,
  soapRequest,
  TEMPURI,
  TRANSPORTS,
  type Transport,
  unwrapSoapAnswer,
} from './helpers/asmx.js'
import { createFixture, type Fixture, startTestServer, type TestServer } from './helpers/server.js'

let server: TestServer
let a: Fixture
let b: Fixture
let base: string
let counter = 0

type Role = 'admin' | 'editor' | 'purger' | 'viewer' | 'outsider'

beforeAll(async () => {
  server = await startTestServer()
  base = server.baseUrl
  a = await createFixture(server.ctx, 'xa', 'asmx')
  b = await createFixture(server.ctx, 'xb', 'asmx')
})

afterAll(async () => {
  await server?.close()
})

const unique = (prefix: string) => `${prefix}-${++counter}`

async function ticketOf(f: Fixture, role: Role) {
  const user = f.users[role]!
  const answer = await asmx(base, 'GET', 'AuthenticateUser', { UID: user.login, PWD: user.password })
  expect(answer.success).toBe('true')
  return answer.response.attrs.ticket!
}

async function folder(f: Fixture, name: string, parentId: number | null, owner: Role = 'admin') {
  return (
    await server.ctx.admin.createItem(f.tenantId, {
      kind: 'folder',
      name,
      parentId,
      ownerId: f.users[owner]!.id,
    })
  ).item
}

async function file(
  f: Fixture,
  name: string,
  parentId: number | null,
  content = 'bytes',
  owner: Role = 'editor',
) {
  return (
    await server.ctx.admin.createItem(f.tenantId, {
      kind: 'file',
      name,
      parentId,
      ownerId: f.users[owner]!.id,
      content: Buffer.from(content),
    })
  ).item
}

/** A library with a folder holding one document per transport: `\<lib>\Docs\<name>-<transport>.pdf`. */
async function library(f: Fixture) {
  const lib = await folder(f, unique('Lib'), null)
  const docs = await folder(f, 'Docs', lib.id)
  const files: Record<Transport, { id: number; name: string }> = {} as never
  for (const transport of TRANSPORTS) files[transport] = await file(f, `report-${transport}.pdf`, docs.id)
  return { lib, docs, files }
}

async function row(id: number) {
  const result = await server.database.db.query(
    'select id, state, deleted_by, parent_id, name, blob_key, trash_root from items where id = $1',
    [id],
  )
  return result.rows[0] as
    | { id: number; state: string; deleted_by: number; parent_id: number; name: string; blob_key: string }
    | undefined
}

async function trashAs(f: Fixture, role: Role, ids: number[]) {
  const batch = await server.ctx.trash.trash(f.users[role]!.actor, ids)
  expect(batch.errorCount).toBe(0)
}

describe('service description', () => {
  it('serves a WSDL with Soap, Soap12, HttpGet and HttpPost bindings for every method', async () => {
    for (const query of ['WSDL', 'wsdl']) {
      const response = await fetch(`${base}/srv.asmx?${query}`)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-type')).toBe('text/xml; charset=utf-8')
      const text = await response.text()
      const wsdl = parseXml(text)
      expect(wsdl.name).toBe('definitions')
      const bindings = wsdl.children.filter((c) => c.name === 'binding').map((c) => c.attrs.name)
      expect(bindings).toEqual(['srvSoap', 'srvSoap12', 'srvHttpGet', 'srvHttpPost'])
      const ports = wsdl.children.find((c) => c.name === 'service')!.children
      expect(ports.map((p) => p.children[0]!.attrs.location)).toEqual(Array(4).fill(`${base}/srv.asmx`))
      for (const method of [
        'AuthenticateUser',
        'LogOut',
        'DeleteDocument',
        'DeleteFolder',
        'GetRecycleBinContent',
        'SearchRecycledItems',
        'RestoreRecycleBinItem',
        'PurgeRecycleBinItem',
        'EmptyRecycleBin',
        'GetDeleteLog',
      ]) {
        expect(text).toContain(`soapAction="http://tempuri.org/${method}"`)
        expect(text).toContain(`<http:operation location="/${method}" />`)
        expect(text).toContain(`<s:element name="${method}Response">`)
      }
      expect(text).toContain('<s:element minOccurs="0" maxOccurs="1" name="ItemHandler" type="s:string" />')
    }
  })

  it('serves the help page listing the methods, a page per operation and the discovery document', async () => {
    const help = await fetch(`${base}/srv.asmx`)
    expect(help.status).toBe(200)
    expect(help.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const html = await help.text()
    expect(html).toContain('The following operations are supported.')
    for (const method of ['EmptyRecycleBin', 'PurgeRecycleBinItem', 'GetRecycleBinContent', 'GetDeleteLog']) {
      expect(html).toContain(`<a href="srv.asmx?op=${method}">${method}</a>`)
    }
    const op = await (await fetch(`${base}/srv.asmx?op=PurgeRecycleBinItem`)).text()
    expect(op).toContain('SOAPAction: &quot;http://tempuri.org/PurgeRecycleBinItem&quot;')
    expect(op).toContain(
      'GET /srv.asmx/PurgeRecycleBinItem?AuthenticationTicket=string&amp;ItemHandler=string',
    )
    const disco = await (await fetch(`${base}/srv.asmx?disco`)).text()
    expect(disco).toContain(`<contractRef ref="${base}/srv.asmx?wsdl"`)
  })
})

describe('ASMX protocol behaviour', () => {
  it('answers a missing GET/POST parameter with HTTP 500 text/plain "Missing parameter: X."', async () => {
    const get = await fetch(`${base}/srv.asmx/PurgeRecycleBinItem?AuthenticationTicket=x`)
    expect(get.status).toBe(500)
    expect(get.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await get.text()).toBe('Missing parameter: ItemHandler.')
    const post = await fetch(`${base}/srv.asmx/EmptyRecycleBin`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'ticket=x',
    })
    expect(post.status).toBe(500)
    expect(await post.text()).toBe('Missing parameter: AuthenticationTicket.')
    // an empty value is present, not missing
    const empty = await asmx(base, 'GET', 'EmptyRecycleBin', { AuthenticationTicket: '' })
    expect(responseXml(empty)).toBe('<response success="false" error="[900] Authentication failed" />')
    // POST reads the form only, not the query string
    const queryOnly = await fetch(`${base}/srv.asmx/EmptyRecycleBin?AuthenticationTicket=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: '',
    })
    expect(await queryOnly.text()).toBe('Missing parameter: AuthenticationTicket.')
  })

  it('reads GET/POST parameter names case-insensitively; method names are case-sensitive', async () => {
    const ticket = await ticketOf(a, 'editor')
    for (const name of ['authenticationticket', 'AUTHENTICATIONTICKET', 'AuthenticationTicket']) {
      const answer = await asmx(base, 'GET', 'GetRecycleBinContent', { [name]: ticket })
      expect(answer.success).toBe('true')
      const posted = await asmx(base, 'POST', 'GetRecycleBinContent', { [name]: ticket })
      expect(posted.success).toBe('true')
    }
    const unknown = await fetch(`${base}/srv.asmx/NoSuchMethod?AuthenticationTicket=x`)
    expect(unknown.status).toBe(500)
    expect(unknown.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await unknown.text()).toBe('NoSuchMethod Web Service method name is not valid.')
    const wrongCase = await fetch(`${base}/srv.asmx/getrecyclebincontent?AuthenticationTicket=x`)
    expect(wrongCase.status).toBe(500)
    expect(await wrongCase.text()).toContain(
      "Method names are case-sensitive: 'getrecyclebincontent' was not found, but 'GetRecycleBinContent' was.",
    )
    const wrongFormat = await fetch(`${base}/srv.asmx/EmptyRecycleBin`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"AuthenticationTicket":"x"}',
    })
    expect(wrongFormat.status).toBe(500)
    expect(await wrongFormat.text()).toBe('Request format is invalid: application/json.')
  })

  it('treats a missing SOAP element as null: no ticket is [900]', async () => {
    for (const version of ['1.1', '1.2'] as const) {
      const response = await fetch(`${base}/srv.asmx`, {
        method: 'POST',
        headers: {
          'content-type':
            version === '1.1' ? 'text/xml; charset=utf-8' : 'application/soap+xml; charset=utf-8',
          ...(version === '1.1' ? { soapaction: '"http://tempuri.org/GetRecycleBinContent"' } : {}),
        },
        body: soapRequest(version, 'GetRecycleBinContent', {}),
      })
      expect(response.status).toBe(200)
      const xml = unwrapSoapAnswer(await response.text(), 'GetRecycleBinContent')
      expect(xml.attrs).toEqual({ success: 'false', error: '[900] Authentication failed' })
    }
  })

  it('answers unknown SOAP actions, version mismatches and hostile XML with SOAP faults', async () => {
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${base}/srv.asmx`, { method: 'POST', headers, body })
    const unknownAction = await post(
      { 'content-type': 'text/xml; charset=utf-8', soapaction: '"http://tempuri.org/Nope"' },
      soapRequest('1.1', 'Nope', {}),
    )
    expect(unknownAction.status).toBe(500)
    const fault = await unknownAction.text()
    expect(fault).toContain('<faultcode>soap:Client</faultcode>')
    expect(fault).toContain(
      '<faultstring>Server did not recognize the value of HTTP Header SOAPAction: http://tempuri.org/Nope.</faultstring>',
    )
    const noAction = await post(
      { 'content-type': 'application/soap+xml; charset=utf-8' },
      soapRequest('1.2', 'Nope', {}),
    )
    expect(noAction.status).toBe(500)
    expect(await noAction.text()).toContain('<soap:Value>soap:Sender</soap:Value>')
    const mismatch = await post(
      { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${TEMPURI}EmptyRecycleBin"` },
      soapRequest('1.2', 'EmptyRecycleBin', { AuthenticationTicket: 'x' }),
    )
    expect(mismatch.status).toBe(500)
    expect(await mismatch.text()).toContain('<faultcode>soap:VersionMismatch</faultcode>')
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><EmptyRecycleBin xmlns="http://tempuri.org/"><AuthenticationTicket>&lol2;</AuthenticationTicket></EmptyRecycleBin></soap:Body></soap:Envelope>`
    const hostile = await post(
      { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${TEMPURI}EmptyRecycleBin"` },
      bomb,
    )
    expect(hostile.status).toBe(500)
    const hostileText = await hostile.text()
    expect(hostileText).toContain('For security reasons DTD is prohibited in this XML document.')
    expect(parseXml(hostileText).name).toBe('Envelope')
    for (const body of ['<soap:Envelope', 'not xml at all', '', '<a>'.repeat(200) + '</a>'.repeat(200)]) {
      const bad = await post(
        { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${TEMPURI}EmptyRecycleBin"` },
        body,
      )
      expect(bad.status).toBe(500)
      const text = await bad.text()
      expect(text).toContain('<faultcode>soap:Client</faultcode>')
      expect(text).toContain('Server was unable to read request.')
      expect(text).not.toMatch(/at \w+ \(|node_modules|select /)
    }
    const huge = await post(
      { 'content-type': 'text/xml; charset=utf-8', soapaction: `"${TEMPURI}EmptyRecycleBin"` },
      soapRequest('1.1', 'EmptyRecycleBin', { AuthenticationTicket: 'x'.repeat(9 * 1024 * 1024) }),
    )
    expect(huge.status).toBe(500)
    expect(await huge.text()).toContain('Maximum request length exceeded.')
  })

  it('routes a SOAP 1.1 request without SOAPAction by its Body element', async () => {
    const response = await fetch(`${base}/srv.asmx`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8' },
      body: soapRequest('1.1', 'EmptyRecycleBin', { AuthenticationTicket: 'not-a-session' }),
    })
    expect(response.status).toBe(200)
    const xml = unwrapSoapAnswer(await response.text(), 'EmptyRecycleBin')
    expect(xml.attrs.error).toBe('[901] Session expired or Invalid ticket.')
  })
})

describe('AuthenticateUser and LogOut', () => {
  it.each(TRANSPORTS)('%s: answers a GUID ticket with a sliding expireOn, or [900]', async (transport) => {
    const user = a.users.editor!
    const started = Date.now()
    const answer = await asmx(base, transport, 'AuthenticateUser', {
      UID: user.login.toUpperCase(),
      PWD: user.password,
    })
    const attrs = answer.response.attrs
    expect(Object.keys(attrs)).toEqual([
      'success',
      'error',
      'ticket',
      'userid',
      'username',
      'firstName',
      'lastName',
      'fullname',
      'email',
      'expireOn',
      'isAuthenticated',
    ])
    expect(attrs).toMatchObject({
      success: 'true',
      error: '',
      userid: String(user.id),
      username: user.login,
      firstName: 'xa',
      lastName: 'editor',
      fullname: 'xa editor',
      isAuthenticated: 'True',
    })
    expect(attrs.ticket).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    expect(attrs.expireOn).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    const ttl = server.ctx.config.SESSION_TTL * 1000
    expect(Date.parse(attrs.expireOn!)).toBeGreaterThanOrEqual(started + ttl - 2000)
    const session = await server.database.db.query(
      'select door, user_id from sessions where ticket_hash = $1',
      [ticketHash(attrs.ticket!)],
    )
    expect(session.rows[0]).toEqual({ door: 'asmx', user_id: user.id })

    const wrong = await asmx(base, transport, 'AuthenticateUser', { UID: user.login, PWD: 'wrong' })
    expect(responseXml(wrong)).toBe(
      `<response success="false" error="[900] Authentication failed"${transport.startsWith('SOAP') ? ' xmlns=""' : ''} />`,
    )
  })

  it.each(TRANSPORTS)('%s: LogOut ends the session; the ticket is then [901]', async (transport) => {
    const ticket = await ticketOf(a, 'viewer')
    const out = await asmx(base, transport, 'LogOut', { AuthenticationTicket: ticket })
    expect(out.response.attrs).toEqual({ success: 'true', error: '' })
    const after = await asmx(base, transport, 'GetRecycleBinContent', { AuthenticationTicket: ticket })
    expect(after.response.attrs).toEqual({
      success: 'false',
      error: '[901] Session expired or Invalid ticket.',
    })
    const again = await asmx(base, transport, 'LogOut', { AuthenticationTicket: ticket })
    expect(again.error).toBe('[901] Session expired or Invalid ticket.')
  })

  it('slides the expiry on use, and an expired ticket is [901] on every transport and method', async () => {
    const ticket = await ticketOf(a, 'editor')
    await server.database.db.query(
      "update sessions set expires_at = now() + interval '5 seconds' where ticket_hash = $1",
      [ticketHash(ticket)],
    )
    await asmx(base, 'GET', 'GetRecycleBinContent', { AuthenticationTicket: ticket })
    const slid = await server.database.db.query(
      'select extract(epoch from expires_at - now())::int as left from sessions where ticket_hash = $1',
      [ticketHash(ticket)],
    )
    expect(slid.rows[0].left).toBeGreaterThan(server.ctx.config.SESSION_TTL - 60)

    await server.database.db.query(
      "update sessions set expires_at = now() - interval '1 second' where ticket_hash = $1",
      [ticketHash(ticket)],
    )
    // a change made behind the server's back shows within AUTH_CACHE_SECONDS: here at once
    server.ctx.auth.forgetVerifiedPasswords()
    const calls: [string, Record<string, string>][] = [
      ['GetRecycleBinContent', { AuthenticationTicket: ticket }],
      ['EmptyRecycleBin', { AuthenticationTicket: ticket }],
      ['DeleteDocument', { authenticationTicket: ticket, Path: '\\x\\y.pdf' }],
      ['DeleteFolder', { authenticationTicket: ticket, Path: '\\x' }],
      ['RestoreRecycleBinItem', { AuthenticationTicket: ticket, ItemHandler: 'D1', RestorePath: '' }],
      ['PurgeRecycleBinItem', { AuthenticationTicket: ticket, ItemHandler: 'D1' }],
      [
        'SearchRecycledItems',
        {
          authenticationTicket: ticket,
          objectName: '',
          dateDeletedMinDate: '',
          dateDeletedMaxDate: '',
          minSize: '0',
          maxSize: '0',
          deletedByUsername: '',
        },
      ],
      ['GetDeleteLog', { AuthenticationTicket: ticket, StartDate: '', EndDate: '', PathFilter: '' }],
    ]
    for (const transport of TRANSPORTS) {
      for (const [method, params] of calls) {
        const answer = await asmx(base, transport, method, params)
        expect(answer.response.attrs, `${transport} ${method}`).toEqual({
          success: 'false',
          error: '[901] Session expired or Invalid ticket.',
        })
      }
    }
  })
})

describe('DeleteDocument and DeleteFolder', () => {
  it.each(
    TRANSPORTS,
  )("%s: moves a document and a folder (with its subtree) to the deleter's bin", async (transport) => {
    const { lib, docs, files } = await library(a)
    const ticket = await ticketOf(a, 'editor')
    const doc = files[transport]
    // finding the document and trashing it is one statement (the ticket's check aside)
    const statements: string[] = []
    const stop = server.ctx.db.watchStatements!((statement) => {
      if (/\bitems\b/.test(statement.text)) statements.push(statement.text)
    })
    let answer: Awaited<ReturnType<typeof asmx>>
    try {
      answer = await asmx(base, transport, 'DeleteDocument', {
        authenticationTicket: ticket,
        Path: `\\${lib.name}\\Docs\\${doc.name}`,
      })
    } finally {
      stop()
    }
    expect(statements, statements.join('\n---\n')).toHaveLength(1)
    expect(responseXml(answer)).toBe(
      `<response success="true" error=""${transport.startsWith('SOAP') ? ' xmlns=""' : ''} />`,
    )
    expect(await row(doc.id)).toMatchObject({ state: 'trashed', deleted_by: a.users.editor!.id })

    const sub = await folder(a, 'Sub', docs.id, 'editor')
    const inner = await file(a, 'inner.txt', sub.id)
    const folderAnswer = await asmx(base, transport, 'DeleteFolder', {
      authenticationTicket: ticket,
      Path: `/${lib.name}/Docs/Sub`,
    })
    expect(folderAnswer.response.attrs).toEqual({ success: 'true', error: '' })
    expect(await row(sub.id)).toMatchObject({ state: 'trashed', deleted_by: a.users.editor!.id })
    expect(await row(inner.id)).toMatchObject({ state: 'trashed', trash_root: sub.id })
    const audit = await server.database.db.query(
      "select door from audit where item_id = $1 and action = 'trash'",
      [doc.id],
    )
    expect(audit.rows).toEqual([{ door: 'asmx' }])
  })

  it.each(TRANSPORTS)('%s: reports missing paths, wrong kinds, empty paths and rights', async (transport) => {
    const { lib, files } = await library(a)
    const ticket = await ticketOf(a, 'editor')
    const t = { authenticationTicket: ticket }
    const missing = await asmx(base, transport, 'DeleteDocument', {
      ...t,
      Path: `\\${lib.name}\\Docs\\nope.pdf`,
    })
    expect(missing.response.attrs).toEqual({ success: 'false', error: 'Document not found' })
    const folderAsDoc = await asmx(base, transport, 'DeleteDocument', { ...t, Path: `\\${lib.name}\\Docs` })
    expect(folderAsDoc.error).toBe('Document not found')
    const docAsFolder = await asmx(base, transport, 'DeleteFolder', {
      ...t,
      Path: `\\${lib.name}\\Docs\\${files[transport].name}`,
    })
    expect(docAsFolder.error).toBe('Folder not found')
    // infoRouter's short form ~D<id> / ~F<id>
    const sub = await folder(a, 'Short', lib.id, 'editor')
    expect((await asmx(base, transport, 'DeleteFolder', { ...t, Path: `~D${sub.id}` })).error).toBe(
      'Folder not found',
    )
    expect((await asmx(base, transport, 'DeleteFolder', { ...t, Path: `~f${sub.id}` })).success).toBe('true')
    expect((await row(sub.id))!.state).toBe('trashed')
    expect((await asmx(base, transport, 'DeleteFolder', { ...t, Path: `~F${sub.id}` })).error).toBe(
      'Folder not found',
    )
    const empty = await asmx(base, transport, 'DeleteFolder', { ...t, Path: '' })
    expect(empty.error).toBe("[903]Required parameter.'Path'")
    const sql = await asmx(base, transport, 'DeleteDocument', { ...t, Path: "\\'; drop table items; --\\x" })
    expect(sql.error).toBe('Document not found')
    // another tenant's path does not exist for this user
    const other = await library(b)
    const foreign = await asmx(base, transport, 'DeleteDocument', {
      ...t,
      Path: `\\${other.lib.name}\\Docs\\${other.files[transport].name}`,
    })
    expect(foreign.error).toBe('Document not found')
    expect((await row(other.files[transport].id))!.state).toBe('active')
    // a branded document the viewer may not delete
    const branded = (
      await server.ctx.admin.createItem(a.tenantId, {
        kind: 'file',
        name: 'branded.pdf',
        parentId: (await folder(a, unique('B'), null)).id,
        brandId: a.brandId,
        ownerId: a.users.editor!.id,
      })
    ).item
    const { path } = await server.ctx.admin.getItem(a.tenantId, branded.id)
    const viewer = await ticketOf(a, 'viewer')
    const denied = await asmx(base, transport, 'DeleteDocument', {
      authenticationTicket: viewer,
      Path: path.replaceAll('/', '\\'),
    })
    expect(denied.error).toBe('Access denied.')
    expect((await row(branded.id))!.state).toBe('active')
  })
})

describe('GetRecycleBinContent', () => {
  it.each(
    TRANSPORTS,
  )("%s: lists the own bin with every attribute; never another user's items", async (transport) => {
    const f = await createFixture(server.ctx, unique('gb'), 'asmx')
    const lib = await folder(f, 'Finance', null)
    const reports = await folder(f, 'Reports', lib.id)
    const doc = await file(f, 'Q1-2024-Report.pdf', reports.id, 'x'.repeat(2048))
    const old = await folder(f, 'OldProjects', lib.id, 'editor')
    await file(f, 'a.txt', old.id, 'aaaa')
    await file(f, 'b.txt', old.id, 'bbbbbb')
    const others = await file(f, 'others.pdf', reports.id)
    await trashAs(f, 'editor', [doc.id])
    await trashAs(f, 'editor', [old.id])
    await trashAs(f, 'purger', [others.id])
    const rows = await server.database.db.query(
      'select id, deleted_at from items where id = any($1) order by id',
      [[doc.id, old.id]],
    )
    const deletedAt = new Map(rows.rows.map((r) => [r.id, (r.deleted_at as Date).toISOString()]))
    const editor = f.users.editor!

    const ticket = await ticketOf(f, 'editor')
    const answer = await asmx(base, transport, 'GetRecycleBinContent', { AuthenticationTicket: ticket })
    const xmlns = transport.startsWith('SOAP') ? ' xmlns=""' : ''
    expect(responseXml(answer)).toBe(
      `<response success="true" error=""${xmlns}>` +
        `<folder Name="OldProjects" DateDeleted="${deletedAt.get(old.id)}" TotalSize="10" OriginalFolderId="${lib.id}" DeletePath="\\Finance" DeletedById="${editor.id}" DeletedByName="${editor.login}" RecycledItemStatusId="0" RecycledItemStatus="In User Recycle Bin" Handler="F${old.id}" />` +
        `<document Name="Q1-2024-Report.pdf" DateDeleted="${deletedAt.get(doc.id)}" TotalSize="2048" OriginalFolderId="${reports.id}" DeletePath="\\Finance\\Reports" DeletedById="${editor.id}" DeletedByName="${editor.login}" RecycledItemStatusId="0" RecycledItemStatus="In User Recycle Bin" Handler="D${doc.id}" />` +
        '</response>',
    )
    // the purger's bin holds only what the purger deleted; the admin's is empty
    const purger = await asmx(base, transport, 'GetRecycleBinContent', {
      AuthenticationTicket: await ticketOf(f, 'purger'),
    })
    expect(purger.response.children.map((c) => c.attrs.Handler)).toEqual([`D${others.id}`])
    const empty = await asmx(base, transport, 'GetRecycleBinContent', {
      AuthenticationTicket: await ticketOf(f, 'admin'),
    })
    expect(responseXml(empty)).toBe(`<response success="true" error=""${xmlns} />`)
  })

  it('streams the listing in chunks (no content-length) across many keyset pages', async () => {
    const f = await createFixture(server.ctx, unique('st'), 'asmx')
    const lib = await folder(f, 'Bulk', null)
    const editor = f.users.editor!
    await server.database.db.query(
      `insert into items (tenant_id, kind, type, name, parent_id, state, deleted_at, deleted_by, original_parent_id, original_path)
       select $1, 'file', 'Document', 'f' || g || '.txt', $2, 'trashed', now() - g * interval '1 millisecond', $3, $2, '/Bulk/f' || g || '.txt'
         from generate_series(1, 2500) g`,
      [f.tenantId, lib.id, editor.id],
    )
    await server.database.db.query(
      'update items set trash_root = id where tenant_id = $1 and deleted_by = $2 and trash_root is null',
      [f.tenantId, editor.id],
    )
    const ticket = await ticketOf(f, 'editor')
    const response = await fetch(`${base}/srv.asmx/GetRecycleBinContent?AuthenticationTicket=${ticket}`)
    expect(response.headers.get('content-length')).toBeNull()
    expect(response.headers.get('transfer-encoding')).toBe('chunked')
    const xml = parseXml(await response.text())
    const names = xml.children.map((c) => c.attrs.Name)
    expect(names.length).toBe(2500)
    expect(new Set(names).size).toBe(2500)
    expect(names[0]).toBe('f1.txt')
    expect(names[2499]).toBe('f2500.txt')
  })
})

describe('SearchRecycledItems', () => {
  it.each(
    TRANSPORTS,
  )('%s: searches every bin of the tenant with filters (administrators only)', async (transport) => {
    const f = await createFixture(server.ctx, unique('sr'), 'asmx')
    const lib = await folder(f, 'Lib', null)
    const small = await file(f, 'Report small.pdf', lib.id, 'x')
    const large = await file(f, 'report large.pdf', lib.id, 'x'.repeat(5000))
    const other = await file(f, 'budget.xlsx', lib.id, 'x'.repeat(100))
    await trashAs(f, 'editor', [small.id, large.id])
    await trashAs(f, 'purger', [other.id])
    await server.database.db.query("update items set deleted_at = '2024-06-15T10:00:00Z' where id = $1", [
      large.id,
    ])
    const admin = await ticketOf(f, 'admin')
    const search = (params: Partial<Record<string, string>>) =>
      asmx(base, transport, 'SearchRecycledItems', {
        authenticationTicket: admin,
        objectName: '',
        dateDeletedMinDate: '',
        dateDeletedMaxDate: '',
        minSize: '0',
        maxSize: '0',
        deletedByUsername: '',
        ...params,
      } as Record<string, string>)
    const handlers = async (params: Partial<Record<string, string>>) => {
      const answer = await search(params)
      expect(answer.success).toBe('true')
      return answer.response.children.map((c) => c.attrs.Handler).sort()
    }
    expect(await handlers({})).toEqual([`D${small.id}`, `D${large.id}`, `D${other.id}`].sort())
    expect(await handlers({ objectName: 'REPORT' })).toEqual([`D${small.id}`, `D${large.id}`].sort())
    expect(await handlers({ deletedByUsername: f.users.purger!.login })).toEqual([`D${other.id}`])
    expect(await handlers({ minSize: '50', maxSize: '1000' })).toEqual([`D${other.id}`])
    expect(await handlers({ dateDeletedMinDate: '2024-06-01', dateDeletedMaxDate: '2024-06-15' })).toEqual([
      `D${large.id}`,
    ])
    expect(await handlers({ dateDeletedMaxDate: '2024-06-15T09:59:59' })).toEqual([])
    const found = await search({ objectName: 'budget' })
    expect(found.response.children[0]!.attrs).toMatchObject({
      Name: 'budget.xlsx',
      TotalSize: '100',
      DeletePath: '\\Lib',
      DeletedByName: f.users.purger!.login,
    })
    expect(await handlers({ objectName: "%' or 1=1 --" })).toEqual([])
    // items emptied through another door wait for the cleanup job: the system recycle bin
    await server.ctx.trash.empty(f.users.purger!.actor, [other.id])
    const system = await search({ objectName: 'budget' })
    expect(system.response.children[0]!.attrs).toMatchObject({
      Handler: `D${other.id}`,
      RecycledItemStatusId: '1',
      RecycledItemStatus: 'In System Recycle Bin',
    })
    expect((await search({ deletedByUsername: 'nobody-here' })).error).toBe('User not found')
    expect((await search({ deletedByUsername: a.users.editor!.login })).error).toBe('User not found')
    expect((await search({ dateDeletedMinDate: 'yesterday' })).error).toBe(
      "Invalid value for dateDeletedMinDate: 'yesterday'",
    )
    const editor = await ticketOf(f, 'editor')
    const denied = await search({ authenticationTicket: editor })
    expect(responseXml(denied)).toBe(
      `<response success="false" error="Only the system administrator can perform this operation"${transport.startsWith('SOAP') ? ' xmlns=""' : ''} />`,
    )
  })
})

describe('RestoreRecycleBinItem', () => {
  it.each(
    TRANSPORTS,
  )('%s: restores a document to its folder and a folder with its whole unit', async (transport) => {
    const { docs, files } = await library(a)
    const doc = files[transport]
    const sub = await folder(a, 'Sub', docs.id, 'editor')
    const inner = await file(a, 'inner.txt', sub.id)
    await trashAs(a, 'editor', [doc.id, sub.id])
    const ticket = await ticketOf(a, 'editor')
    const answer = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `d${doc.id}`,
      RestorePath: '',
    })
    expect(answer.response.attrs).toEqual({ success: 'true', error: '' })
    expect(await row(doc.id)).toMatchObject({ state: 'active', parent_id: docs.id })
    const folderAnswer = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `F${sub.id}`,
      RestorePath: '',
    })
    expect(folderAnswer.response.attrs).toEqual({ success: 'true', error: '' })
    expect(await row(sub.id)).toMatchObject({ state: 'active' })
    expect(await row(inner.id)).toMatchObject({ state: 'active', parent_id: sub.id })
    // restored means no longer in the bin
    const again = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `D${doc.id}`,
      RestorePath: '',
    })
    expect(again.response.attrs).toEqual({
      success: 'false',
      error: 'Document is no longer in the recycle bin.',
    })
    const folderAgain = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `f${sub.id}`,
      RestorePath: '',
    })
    expect(folderAgain.error).toBe('Folder is no longer in the recycle bin.')
  })

  it.each(TRANSPORTS)('%s: RestorePath, original location gone, target not found', async (transport) => {
    const { lib, docs, files } = await library(a)
    const archive = await folder(a, 'Archive', lib.id)
    const doc = files[transport]
    await trashAs(a, 'editor', [doc.id])
    await trashAs(a, 'admin', [docs.id])
    const ticket = await ticketOf(a, 'editor')
    const gone = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `D${doc.id}`,
      RestorePath: '',
    })
    expect(gone.error).toBe('The original location no longer exists.')
    const missing = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `D${doc.id}`,
      RestorePath: `\\${lib.name}\\Nope`,
    })
    expect(missing.error).toBe('Target folder not found')
    const toFile = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `D${doc.id}`,
      RestorePath: `\\${lib.name}\\Docs`,
    })
    expect(toFile.error).toBe('Target folder not found')
    expect((await row(doc.id))!.state).toBe('trashed')
    const moved = await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: ticket,
      ItemHandler: `D${doc.id}`,
      RestorePath: `\\${lib.name}\\Archive`,
    })
    expect(moved.response.attrs).toEqual({ success: 'true', error: '' })
    expect(await row(doc.id)).toMatchObject({ state: 'active', parent_id: archive.id })
  })

  it.each(
    TRANSPORTS,
  )("%s: refuses another user's item, another tenant's handler and bad handlers", async (transport) => {
    const { files } = await library(a)
    const doc = files[transport]
    await trashAs(a, 'editor', [doc.id])
    const outsider = await ticketOf(a, 'outsider')
    const restore = (ticket: string, handler: string) =>
      asmx(base, transport, 'RestoreRecycleBinItem', {
        AuthenticationTicket: ticket,
        ItemHandler: handler,
        RestorePath: '',
      })
    expect((await restore(outsider, `D${doc.id}`)).response.attrs).toEqual({
      success: 'false',
      error: 'Access denied.',
    })
    // nor does it show in the outsider's bin
    const bin = await asmx(base, transport, 'GetRecycleBinContent', { AuthenticationTicket: outsider })
    expect(bin.response.children.map((c) => c.attrs.Handler)).not.toContain(`D${doc.id}`)
    expect((await row(doc.id))!.state).toBe('trashed')

    const otherTenant = await ticketOf(b, 'admin')
    expect((await restore(otherTenant, `D${doc.id}`)).error).toBe('Document is no longer in the recycle bin.')
    expect((await restore(otherTenant, `F${doc.id}`)).error).toBe('Folder is no longer in the recycle bin.')
    const purge = await asmx(base, transport, 'PurgeRecycleBinItem', {
      AuthenticationTicket: otherTenant,
      ItemHandler: `D${doc.id}`,
    })
    expect(purge.error).toBe('Document is no longer in the recycle bin.')
    expect((await row(doc.id))!.state).toBe('trashed')

    const editor = await ticketOf(a, 'editor')
    // F names a folder: a document's id under F is not a recycled folder
    expect((await restore(editor, `F${doc.id}`)).error).toBe('Folder is no longer in the recycle bin.')
    for (const handler of [
      '',
      'X12',
      'D',
      'Dabc',
      '12',
      'D-1',
      'D1.5',
      "D1' or '1'='1",
      'D12345678901234567890',
    ]) {
      expect((await restore(editor, handler)).response.attrs, handler).toEqual({
        success: 'false',
        error: 'Invalid ItemHandler',
      })
    }
    expect((await restore(editor, `D${doc.id + 100000}`)).error).toBe(
      'Document is no longer in the recycle bin.',
    )
  })
})

describe('racing restores and purges of one item', () => {
  it('end with the item in exactly one state and exactly one success', async () => {
    const { files } = await library(a)
    const doc = files.GET
    await trashAs(a, 'editor', [doc.id])
    const editor = await ticketOf(a, 'editor')
    const admin = await ticketOf(a, 'admin')
    const calls = TRANSPORTS.flatMap((transport) => [
      asmx(base, transport, 'RestoreRecycleBinItem', {
        AuthenticationTicket: editor,
        ItemHandler: `D${doc.id}`,
        RestorePath: '',
      }),
      asmx(base, transport, 'PurgeRecycleBinItem', {
        AuthenticationTicket: admin,
        ItemHandler: `D${doc.id}`,
      }),
    ])
    const answers = await Promise.all(calls)
    expect(answers.filter((answer) => answer.success === 'true')).toHaveLength(1)
    for (const answer of answers.filter((candidate) => candidate.success === 'false')) {
      expect(answer.error).toBe('Document is no longer in the recycle bin.')
    }
    const state = (await row(doc.id))?.state
    const winner = answers.findIndex((answer) => answer.success === 'true')
    expect(state).toBe(winner % 2 === 0 ? 'active' : undefined)
  })
})

describe('PurgeRecycleBinItem', () => {
  it.each(
    TRANSPORTS,
  )('%s: a non-administrator gets the administrator-only error and nothing is purged', async (transport) => {
    const { files } = await library(a)
    const doc = files[transport]
    await trashAs(a, 'purger', [doc.id])
    for (const role of ['editor', 'purger'] as const) {
      const answer = await asmx(base, transport, 'PurgeRecycleBinItem', {
        AuthenticationTicket: await ticketOf(a, role),
        ItemHandler: `D${doc.id}`,
      })
      expect(answer.response.attrs).toEqual({
        success: 'false',
        error: 'Only the system administrator can perform this operation',
      })
    }
    expect((await row(doc.id))!.state).toBe('trashed')
  })

  it.each(
    TRANSPORTS,
  )('%s: an administrator purges any bin; a folder with its whole subtree, rows and files', async (transport) => {
    const { lib, files } = await library(a)
    const doc = files[transport]
    const project = await folder(a, 'Project', lib.id, 'editor')
    const sub = await folder(a, 'Sub', project.id, 'editor')
    const deep = await folder(a, 'Deep', sub.id, 'editor')
    const leaves = [
      await file(a, 'one.txt', project.id),
      await file(a, 'two.txt', sub.id),
      await file(a, 'three.txt', deep.id),
    ]
    const keys = (await Promise.all(leaves.map((leaf) => row(leaf.id)))).map((r) => r!.blob_key)
    const blobs = server.ctx.blobs as FsBlobStore
    for (const key of keys) expect(existsSync(blobs.pathOf(key))).toBe(true)
    const docKey = (await row(doc.id))!.blob_key
    await trashAs(a, 'editor', [doc.id, project.id])
    const admin = await ticketOf(a, 'admin')

    const purgedDoc = await asmx(base, transport, 'PurgeRecycleBinItem', {
      AuthenticationTicket: admin,
      ItemHandler: `D${doc.id}`,
    })
    expect(purgedDoc.response.attrs).toEqual({ success: 'true', error: '' })
    expect(await row(doc.id)).toBeUndefined()
    expect(existsSync(blobs.pathOf(docKey))).toBe(false)

    const purgedFolder = await asmx(base, transport, 'PurgeRecycleBinItem', {
      AuthenticationTicket: admin,
      ItemHandler: `f${project.id}`,
    })
    expect(purgedFolder.response.attrs).toEqual({ success: 'true', error: '' })
    const left = await server.database.db.query('select id from items where id = any($1)', [
      [project.id, sub.id, deep.id, ...leaves.map((leaf) => leaf.id)],
    ])
    expect(left.rows).toEqual([])
    for (const key of keys) expect(existsSync(blobs.pathOf(key))).toBe(false)
    const audit = await server.database.db.query(
      "select count(*)::int as n from audit where action = 'purge' and unit_root = $1",
      [project.id],
    )
    expect(audit.rows[0].n).toBe(6)

    const again = await asmx(base, transport, 'PurgeRecycleBinItem', {
      AuthenticationTicket: admin,
      ItemHandler: `F${project.id}`,
    })
    expect(again.error).toBe('Folder is no longer in the recycle bin.')
    const docAgain = await asmx(base, transport, 'PurgeRecycleBinItem', {
      AuthenticationTicket: admin,
      ItemHandler: `D${doc.id}`,
    })
    expect(docAgain.error).toBe('Document is no longer in the recycle bin.')
    const invalid = await asmx(base, transport, 'PurgeRecycleBinItem', {
      AuthenticationTicket: admin,
      ItemHandler: 'Q1',
    })
    expect(invalid.error).toBe('Invalid ItemHandler')
  })

  it.each(
    TRANSPORTS,
  )('%s: a storage failure answers error="[log]" with a logitem per file, nothing half-gone', async (transport) => {
    const { lib } = await library(a)
    const project = await folder(a, 'Stuck', lib.id, 'editor')
    const good = await file(a, 'good.txt', project.id)
    const bad = await file(a, 'Q1-2024-Report.pdf', project.id)
    const badKey = (await row(bad.id))!.blob_key
    await trashAs(a, 'editor', [project.id])
    const blobs = server.ctx.blobs
    const original = blobs.delete.bind(blobs)
    const spy = vi.spyOn(blobs, 'delete').mockImplementation(async (key: string) => {
      if (key === badKey) throw new Error('EACCES: permission denied')
      return original(key)
    })
    try {
      const answer = await asmx(base, transport, 'PurgeRecycleBinItem', {
        AuthenticationTicket: await ticketOf(a, 'admin'),
        ItemHandler: `F${project.id}`,
      })
      expect(responseXml(answer)).toBe(
        `<response success="false" error="[log]"${transport.startsWith('SOAP') ? ' xmlns=""' : ''}><logitem name="Q1-2024-Report.pdf" message="Unable to delete file from storage." /></response>`,
      )
    } finally {
      spy.mockRestore()
    }
    expect(await row(good.id)).toBeUndefined()
    expect((await row(bad.id))!.state).toBe('trashed')
    expect((await row(project.id))!.state).toBe('trashed')
  })
})

describe('EmptyRecycleBin', () => {
  it.each(
    TRANSPORTS,
  )("%s: permanently empties the caller's bin only; an empty bin is success", async (transport) => {
    const f = await createFixture(server.ctx, unique('eb'), 'asmx')
    const lib = await folder(f, 'Lib', null)
    const mine = [await file(f, 'm1.txt', lib.id), await file(f, 'm2.txt', lib.id)]
    const sub = await folder(f, 'Sub', lib.id, 'editor')
    const inSub = await file(f, 'in.txt', sub.id)
    const theirs = await file(f, 't1.txt', lib.id)
    await trashAs(f, 'editor', [...mine.map((m) => m.id), sub.id])
    await trashAs(f, 'purger', [theirs.id])
    const key = (await row(mine[0]!.id))!.blob_key
    const ticket = await ticketOf(f, 'editor')
    const answer = await asmx(base, transport, 'EmptyRecycleBin', { AuthenticationTicket: ticket })
    expect(responseXml(answer)).toBe(
      `<response success="true" error=""${transport.startsWith('SOAP') ? ' xmlns=""' : ''} />`,
    )
    for (const id of [...mine.map((m) => m.id), sub.id, inSub.id]) expect(await row(id)).toBeUndefined()
    expect(existsSync((server.ctx.blobs as FsBlobStore).pathOf(key))).toBe(false)
    expect((await row(theirs.id))!.state).toBe('trashed')
    const again = await asmx(base, transport, 'EmptyRecycleBin', { AuthenticationTicket: ticket })
    expect(again.response.attrs).toEqual({ success: 'true', error: '' })
  })
})

describe('EmptyRecycleBin that cannot remove everything', () => {
  it('answers error="[log]" naming what stayed (legal hold, storage failure) and purges the rest', async () => {
    const f = await createFixture(server.ctx, unique('el'), 'asmx')
    const lib = await folder(f, 'Lib', null)
    const gone = await file(f, 'gone.txt', lib.id)
    const held = await file(f, 'held.txt', lib.id)
    const stuck = await file(f, 'stuck.txt', lib.id)
    await server.ctx.admin.setItemLegalHold(f.tenantId, held.id, true)
    await trashAs(f, 'editor', [gone.id, held.id, stuck.id])
    const stuckKey = (await row(stuck.id))!.blob_key
    const blobs = server.ctx.blobs
    const original = blobs.delete.bind(blobs)
    const spy = vi.spyOn(blobs, 'delete').mockImplementation(async (key: string) => {
      if (key === stuckKey) throw new Error('EIO')
      return original(key)
    })
    try {
      for (const transport of TRANSPORTS) {
        const answer = await asmx(base, transport, 'EmptyRecycleBin', {
          AuthenticationTicket: await ticketOf(f, 'editor'),
        })
        expect(answer.response.attrs).toEqual({ success: 'false', error: '[log]' })
        expect(answer.response.children.map((c) => [c.name, c.attrs.name, c.attrs.message])).toEqual([
          ['logitem', 'held.txt', 'Item is under legal hold and cannot be purged'],
          ['logitem', 'stuck.txt', 'Unable to delete file from storage.'],
        ])
      }
    } finally {
      spy.mockRestore()
    }
    expect(await row(gone.id)).toBeUndefined()
    expect((await row(held.id))!.state).toBe('trashed')
    expect((await row(stuck.id))!.state).toBe('trashed')
  })
})

describe('GetDeleteLog', () => {
  it.each(
    TRANSPORTS,
  )('%s: lists RECYCLE, RESTORE, PURGE and RECYCLE EMPTIED per unit (administrators only)', async (transport) => {
    const f = await createFixture(server.ctx, unique('dl'), 'asmx')
    const lib = await folder(f, 'Finance', null)
    const reports = await folder(f, 'Reports', lib.id)
    const doc = await file(f, 'Q1.pdf', reports.id)
    const project = await folder(f, 'Project', reports.id, 'editor')
    await file(f, 'member.txt', project.id)
    const emptied = await file(f, 'old.txt', lib.id)
    const editor = await ticketOf(f, 'editor')
    const admin = await ticketOf(f, 'admin')
    const t = { authenticationTicket: editor }
    await asmx(base, transport, 'DeleteDocument', { ...t, Path: '\\Finance\\Reports\\Q1.pdf' })
    await asmx(base, transport, 'RestoreRecycleBinItem', {
      AuthenticationTicket: editor,
      ItemHandler: `D${doc.id}`,
      RestorePath: '',
    })
    await asmx(base, transport, 'DeleteFolder', { ...t, Path: '\\Finance\\Reports\\Project' })
    await asmx(base, transport, 'PurgeRecycleBinItem', {
      AuthenticationTicket: admin,
      ItemHandler: `F${project.id}`,
    })
    await asmx(base, transport, 'DeleteDocument', { ...t, Path: '\\Finance\\old.txt' })
    await asmx(base, transport, 'EmptyRecycleBin', { AuthenticationTicket: editor })

    const log = await asmx(base, transport, 'GetDeleteLog', {
      AuthenticationTicket: admin,
      StartDate: '',
      EndDate: '',
      PathFilter: '',
    })
    expect(log.success).toBe('true')
    const logs = log.response.children[0]!
    expect(logs.name).toBe('logs')
    const items = logs.children.map((c) => [
      c.attrs.ACTION,
      c.attrs.TYPE,
      c.attrs.NAME,
      c.attrs.PATH,
      c.attrs.ID,
    ])
    expect(items).toEqual([
      ['RECYCLE', 'DOCUMENT', 'Q1.pdf', '\\Finance\\Reports', String(doc.id)],
      ['RESTORE', 'DOCUMENT', 'Q1.pdf', '\\Finance\\Reports', String(doc.id)],
      ['RECYCLE', 'FOLDER', 'Project', '\\Finance\\Reports', String(project.id)],
      ['PURGE', 'FOLDER', 'Project', '\\Finance\\Reports', String(project.id)],
      ['RECYCLE', 'DOCUMENT', 'old.txt', '\\Finance', String(emptied.id)],
      ['RECYCLE EMPTIED', 'DOCUMENT', 'old.txt', '\\Finance', String(emptied.id)],
    ])
    const first = logs.children[0]!.attrs
    expect(first).toMatchObject({
      DOMAINID: String(lib.id),
      DOMAINNAME: 'Finance',
      USERID: String(f.users.editor!.id),
      FULLNAME: `${f.users.editor!.login.replace('-editor', '')} editor`,
    })
    expect(first.DATE).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/)

    const filtered = await asmx(base, transport, 'GetDeleteLog', {
      AuthenticationTicket: admin,
      StartDate: '2000-01-01',
      EndDate: '',
      PathFilter: '\\Finance\\Reports\\Project',
    })
    expect(filtered.response.children[0]!.children.map((c) => c.attrs.ACTION)).toEqual(['RECYCLE', 'PURGE'])
    const none = await asmx(base, transport, 'GetDeleteLog', {
      AuthenticationTicket: admin,
      StartDate: '',
      EndDate: '2000-01-01',
      PathFilter: '',
    })
    expect(responseXml(none)).toBe(
      `<response success="true" error=""${transport.startsWith('SOAP') ? ' xmlns=""' : ''}><logs /></response>`,
    )
    const denied = await asmx(base, transport, 'GetDeleteLog', {
      AuthenticationTicket: editor,
      StartDate: '',
      EndDate: '',
      PathFilter: '',
    })
    expect(denied.error).toBe('Only the system administrator can perform this operation')
  })
})

describe('unexpected failures', () => {
  it.each(TRANSPORTS)('%s: answer SystemError:... without a stack or SQL', async (transport) => {
    const ticket = await ticketOf(a, 'editor')
    const spy = vi
      .spyOn(server.ctx.trash, 'emptyOwnBin')
      .mockRejectedValue(new Error('relation "items" does not exist at select * from items'))
    try {
      const answer = await asmx(base, transport, 'EmptyRecycleBin', { AuthenticationTicket: ticket })
      expect(answer.success).toBe('false')
      expect(answer.error).toMatch(
        /^SystemError:An unexpected server error occurred \(request id [\w-]+\)\.$/,
      )
      expect(answer.text).not.toContain('relation')
    } finally {
      spy.mockRestore()
    }
  })
})

describe('logging', () => {
  it('never writes passwords or tickets sent in a query string', async () => {
    expect(redactUrl('/srv.asmx/AuthenticateUser?UID=bob&PWD=secret&x=1')).toBe(
      '/srv.asmx/AuthenticateUser?UID=bob&PWD=[redacted]&x=1',
    )
    const lines: string[] = []
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk))
        done()
      },
    })
    const app = await buildApp({ ...server.ctx, logger: createLogger({ LOG_LEVEL: 'info' }, sink) })
    try {
      const user = a.users.viewer!
      const login = await app.inject({
        method: 'GET',
        url: `/srv.asmx/AuthenticateUser?UID=${user.login}&pwd=${encodeURIComponent(user.password)}`,
      })
      const ticket = /ticket="([^"]+)"/.exec(login.body)![1]!
      await app.inject({
        method: 'GET',
        url: `/srv.asmx/GetRecycleBinContent?authenticationTicket=${ticket}`,
      })
      const log = lines.join('')
      expect(log).toContain('/srv.asmx/AuthenticateUser?UID=')
      expect(log).toContain('pwd=[redacted]')
      expect(log).not.toContain(user.password)
      expect(log).not.toContain(encodeURIComponent(user.password))
      expect(log).not.toContain(ticket)
    } finally {
      await app.close()
    }
  })
})
